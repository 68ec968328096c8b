#!/usr/bin/env bash
# Chat delivery latency before and after a change, side by side: two checkouts' chat servers,
# with 1 and 2 workers, take turns (A B A B ...) under the C fan-out generator of
# ../shared/reference (gcc -O2 -pthread -o ~/ref/fanout ../shared/reference/fanout.c):
# 500 receivers and 10 senders in one room, 16 B, a fixed rate.
#
#   scripts/chat-before-after.sh BEFORE_DIR AFTER_DIR [ROUNDS] [RATE]     (defaults: 5, 1000 msgs/s)
#   WORKERS='2 1' SIZE=16 DURATION=5 scripts/chat-before-after.sh ...
#
# BEFORE_DIR and AFTER_DIR are checkouts with node_modules (git worktree add ...; ln -s).
# Prints one JSON line per measurement and a table of medians.
set -euo pipefail
source "$(dirname "$0")/needs.sh"
if [ $# -lt 2 ]; then echo "usage: scripts/chat-before-after.sh BEFORE_DIR AFTER_DIR [ROUNDS] [RATE]" >&2; exit 2; fi
before=$1; after=$2; rounds=${3:-5}; rate=${4:-1000}
fanout=${FANOUT:-$HOME/ref/fanout}
need_program "$fanout" "$(build_hint fanout) (or set FANOUT)"
need_checkouts "$before" "$after"
needs_met
out=$(mktemp)
port=5640
wait_port() { for _ in $(seq 150); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
for round in $(seq "$rounds"); do
  for workers in ${WORKERS:-2 1}; do
    for side in before after; do
      dir=$([ $side = before ] && echo "$before" || echo "$after")
      port=$((port + 1))
      "$dir/bin/handoff" serve --mode chat --port $port --workers "$workers" --quiet >/dev/null 2>&1 &
      pid=$!
      wait_port $port
      sleep 0.3
      line=$("$fanout" -P handoff -p $port -r 500 -s 10 -b "${SIZE:-16}" -R "$rate" -w 64 -W 1 -d "${DURATION:-5}" -S $pid -l "$side-w$workers" | tail -1)
      kill $pid; wait $pid 2>/dev/null || true
      echo "{\"round\":$round,\"side\":\"$side\",\"workers\":$workers,\"run\":$line}" | tee -a "$out"
    done
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print('\n| workers | side | p50 | p99 (rounds) | p99 median | server CPU-µs/delivery | machine busy s | lost |')
print('| --- | --- | --- | --- | --- | --- | --- | --- |')
for w in sorted({r['workers'] for r in rows}, reverse=True):
    for side in ('before', 'after'):
        rs = [r['run'] for r in rows if r['workers'] == w and r['side'] == side]
        med = lambda k: statistics.median(r[k] for r in rs)
        p99s = ', '.join(f"{r['p99_us'] / 1000:.1f}" for r in rs)
        print(f"| {w} | {side} | {med('p50_us') / 1000:.1f} ms | {p99s} | {med('p99_us') / 1000:.1f} ms | "
              f"{med('server_cpu_s_per_million_deliveries'):.3f} | {med('machine_busy_s'):.2f} | {sum(r['lost'] for r in rs)} |")
PY
