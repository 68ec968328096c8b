#!/usr/bin/env bash
# Chat fan-out side by side with NATS and Redis pub/sub, under the C fan-out generator of
# ../shared/reference (gcc -O2 -pthread -o ~/ref/fanout ../shared/reference/fanout.c):
# 500 receivers and 10 senders in one room, the servers taking turns round by round.
#
#   scripts/fanout-vs-nats-redis.sh [ROUNDS] [PAYLOAD_BYTES] [RATE]    (RATE 0 = closed loop)
#
# Needs nats-server and redis-server (Debian packages of those names).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; size=${2:-16}; rate=${3:-0}
fanout=${FANOUT:-$HOME/ref/fanout}
source scripts/needs.sh
need_node
need_program "$fanout" "$(build_hint fanout) (or set FANOUT)"
need_command nats-server "apt-get install nats-server"
need_command redis-server "apt-get install redis-server"
needs_met
port=5600
wait_port() { for _ in $(seq 150); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
run() { # name, proto, port, pid
  "$fanout" -P "$2" -p "$3" -r 500 -s 10 -b "$size" -R "$rate" -w 64 -W 1 -d 5 -S "$4" -l "$1"
}
for round in $(seq "$rounds"); do
  for target in handoff-2w handoff-1w nats redis; do
    port=$((port + 1))
    case $target in
      handoff-*) bin/handoff serve --mode chat --port $port --workers "$(echo ${target#handoff-} | tr -d w)" --quiet >/dev/null 2>&1 & proto=handoff ;;
      nats) nats-server -a 127.0.0.1 -p $port >/dev/null 2>&1 & proto=nats ;;
      redis) redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 & proto=redis ;;
    esac
    pid=$!
    wait_port $port
    sleep 0.3
    echo "{\"round\":$round,\"target\":\"$target\",\"run\":$(run "$target" $proto $port $pid | tail -1)}"
    kill $pid; wait $pid 2>/dev/null || true
  done
done
