#!/usr/bin/env bash
# Re-runs every figure published in the docs (docs/performance.md, the README's headline figures) and
# results/published/, on this machine, in one go.
# Everything is written into results/published (--out): the tracked folder the docs cite. A plain
# `npm run bench` writes into results/ instead, which git ignores.
# Needs the reference instruments of ../shared/reference (C), built outside the repository:
#   gcc -O2 -pthread -o ~/ref/loadgen ../shared/reference/loadgen.c
#   gcc -O2 -pthread -o ~/ref/ref_epoll ../shared/reference/ref_epoll.c
#   gcc -O2 -pthread -o ~/ref/fanout ../shared/reference/fanout.c
# and, for the chat comparisons, nats-server and redis-server (apt-get install nats-server redis-server).
# Takes about an hour and a quarter (the fuzz runs and the soak are 35 minutes of it). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/needs.sh
need_node
ref_src=../shared/reference
if [ ! -x ~/ref/loadgen ] || [ ! -x ~/ref/ref_epoll ] || [ ! -x ~/ref/fanout ]; then
  # Built here when they can be: gcc and the sources are needed for that.
  need_command gcc "apt-get install gcc (to build the reference instruments in ~/ref)"
  for c in loadgen ref_epoll fanout; do
    [ -f "$ref_src/$c.c" ] || needs_problems+=("$ref_src/$c.c is missing: the reference instruments' sources go in ../shared/reference")
  done
fi
need_command nats-server "apt-get install nats-server"
need_command redis-server "apt-get install redis-server"
needs_met
if [ ! -x ~/ref/loadgen ] || [ ! -x ~/ref/ref_epoll ] || [ ! -x ~/ref/fanout ]; then
  mkdir -p ~/ref
  gcc -O2 -pthread -o ~/ref/loadgen "$ref_src/loadgen.c"
  gcc -O2 -pthread -o ~/ref/ref_epoll "$ref_src/ref_epoll.c"
  gcc -O2 -pthread -o ~/ref/fanout "$ref_src/fanout.c"
fi
ulimit -n "$(ulimit -Hn)"
pub=results/published
set -x
bin/handoff bench --clients 500 --label default --no-progress --out "$pub"
bin/handoff bench --clients 500 --header-bytes 64,8 --repeat 3 --label header-64-vs-8 --no-progress --out "$pub"
bin/handoff bench --clients 500 --strategy handoff,reuseport,single --sizes 1k --repeat 3 --label strategies-1k --no-progress --out "$pub"
bin/handoff bench -c 100 -s 16 --churn 1,100 --strategy handoff,reuseport,single --repeat 3 -d 5 --warmup 1 --label churn-strategies --no-progress --out "$pub"
$node src/bench/reference/server-vs-ref.ts --cases 16:ack,64k:ack,64k:echo --servers ref,node_fast,handoff:1,handoff:2 --rounds 5 -c 500 -d 4 --out "$pub"
$node src/bench/reference/tester-vs-loadgen.ts -c 500 -s 16,4k -d 4 --rounds 3 --server-workers 2 --out "$pub"
$node src/bench/reference/tester-vs-loadgen.ts -c 500 -s 16,4k,64k -d 4 --rounds 3 -w 1 --server ref --out "$pub"
bin/handoff compare --out "$pub" "$(ls -t "$pub"/*-header-64-vs-8.json | head -1)"
bin/handoff compare --out "$pub" "$(ls -t "$pub"/*-strategies-1k.json | head -1)"
npm run bench:codec -- --out "$pub"
chat=(--mode chat --senders 10 -d 5 --warmup 1 --repeat 3 --no-progress)
bin/handoff bench "${chat[@]}" -c 510 -s 16 --target-kind handoff,nats,redis --server-workers 2 --label chat-500-receivers-closed-loop --out "$pub"
bin/handoff bench "${chat[@]}" -c 510 -s 16 --target-kind handoff,nats,redis --server-workers 2 -r 1000 --label chat-500-receivers-rate-1000 --out "$pub"
bin/handoff bench "${chat[@]}" -c 20,110,510 -s 16 --server-workers 2 --label chat-receivers-sweep --out "$pub"
# Window 8: 10 senders x 8 x 16 KiB stays under the server's 8 MiB --max-pending-bytes per receiver.
bin/handoff bench "${chat[@]}" -c 510 -s 16,1k,16k --window 8 --server-workers 2 --label chat-size-sweep-closed-loop --out "$pub"
bin/handoff bench "${chat[@]}" -c 510 -s 16,1k,16k --server-workers 2 -r 100 --label chat-size-sweep-rate-100 --out "$pub"
bin/handoff bench "${chat[@]}" -c 510 -s 16 --server-workers 1,2 --label chat-workers-1-vs-2 --out "$pub"
bin/handoff bench "${chat[@]}" -c 510 -s 16 --redis --server-workers 1,2 --label chat-two-servers-on-redis --out "$pub"
$node src/bench/reference/chat-vs-fanout.ts --targets handoff,nats,redis -r 500 -s 10 -b 16 -d 5 --warmup 1 --rounds 3 --server-workers 2 --out "$pub"
$node src/bench/reference/chat-vs-fanout.ts --targets handoff,nats,redis -r 500 -s 10 -b 16 -d 5 --warmup 1 --rounds 3 --server-workers 2 --rate 1000 --out "$pub"
day=$(date -u +%F)
scripts/fanout-vs-nats-redis.sh 3 16 0 > "$pub/fanout-vs-nats-redis-$day-closed.jsonl"
scripts/fanout-vs-nats-redis.sh 3 16 1000 > "$pub/fanout-vs-nats-redis-$day-rate1000.jsonl"
$node src/bench/micro/thread-hop.ts --seconds 2 --rounds 5 --json "$pub/thread-hop.json"
tls=(--transports tcp,tls --sizes 16,65536 --clients 20 --server-workers 1 --workers 1 --duration 3 --warmup 1 --repeat 3 --no-progress --out "$pub")
bin/handoff bench --mode ack "${tls[@]}" --label tls-cost-ack
bin/handoff bench --mode echo "${tls[@]}" --label tls-cost-echo
for _ in 1 2 3 4 5; do $node scripts/tls-echo-baseline.mjs; done
$node scripts/memory-after-load.ts --vanishing 10000 --bursts 4 --idle 10
npm run fuzz -- --inputs 1000000 --out "$pub"
$node scripts/tls-refusal-cost.ts --rounds 5 --seconds 3 --json "$pub/tls-refusal-cost-$day.json"
# The chat fuzz in two halves of 500,000 (each about 8 minutes here).
npm run fuzz:chat -- --inputs 500000 --seed 1 --out "$pub"
npm run fuzz:chat -- --inputs 500000 --seed 2 --out "$pub"
npm run soak -- --minutes 10 --out "$pub"
# Not here: scripts/ack-echo-before-after.sh and scripts/metrics-flood-cost.ts before@..., which need a second
# checkout (the code before a change).
# The hand-written summaries (fanout-vs-nats-redis.md, tls-cost.md, thread-hop.md, memory-after-load.md)
# are updated from what these print.
