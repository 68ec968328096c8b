#!/usr/bin/env bash
# Server CPU per message in ack and echo mode, before and after a change, side by side:
# two checkouts' servers take turns (A B A B ...) under the C load generator of
# ../shared/reference (build it: gcc -O2 -pthread -o ~/ref/loadgen ../shared/reference/loadgen.c).
#
#   scripts/ack-echo-before-after.sh BEFORE_DIR AFTER_DIR [ROUNDS]
#   CASES='16:ack 65536:ack' WORKERS=1 scripts/ack-echo-before-after.sh ...   (defaults: '16:ack 65536:echo', 2)
#
# BEFORE_DIR and AFTER_DIR are checkouts with node_modules (git worktree add ...; ln -s).
# Prints one JSON line per measurement and a table of medians and their ratio.
set -euo pipefail
source "$(dirname "$0")/needs.sh"
if [ $# -lt 2 ]; then echo "usage: scripts/ack-echo-before-after.sh BEFORE_DIR AFTER_DIR [ROUNDS]" >&2; exit 2; fi
before=$1; after=$2; rounds=${3:-5}
loadgen=${LOADGEN:-$HOME/ref/loadgen}
need_program "$loadgen" "$(build_hint loadgen) (or set LOADGEN)"
need_checkouts "$before" "$after"
needs_met
out=$(mktemp)
port=5390
for round in $(seq "$rounds"); do
  for case in ${CASES:-16:ack 65536:echo}; do
    size=${case%%:*}; mode=${case#*:}
    for side in before after; do
      dir=$([ $side = before ] && echo "$before" || echo "$after")
      port=$((port + 1))
      "$dir/bin/handoff" serve --port $port --workers "${WORKERS:-2}" --mode $mode --quiet > /dev/null 2>&1 &
      pid=$!
      for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
      echo_flag=$([ $mode = echo ] && printf %s -e || true)
      line=$("$loadgen" -H 127.0.0.1 -P $port -c 500 -s $size -d 4 -w 1 -p 1 -t 1 -S $pid $echo_flag)
      kill $pid; wait $pid 2>/dev/null || true
      echo "{\"round\":$round,\"side\":\"$side\",\"case\":\"$size $mode\",\"run\":$line}" | tee -a "$out"
    done
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print('\n| case | before: CPU-µs/msg | after: CPU-µs/msg | after/before | before msgs/s | after msgs/s |')
print('| --- | --- | --- | --- | --- | --- |')
for case in sorted({r['case'] for r in rows}, key=lambda c: int(c.split()[0])):
    med = lambda side, key: statistics.median(r['run'][key] for r in rows if r['case'] == case and r['side'] == side)
    b, a = med('before', 'server_cpu_s_per_million_msgs'), med('after', 'server_cpu_s_per_million_msgs')
    print(f"| {case} | {b:.3f} | {a:.3f} | {a / b:.3f} | {med('before', 'msgs_per_s'):.0f} | {med('after', 'msgs_per_s'):.0f} |")
PY
