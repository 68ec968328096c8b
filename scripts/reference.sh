#!/usr/bin/env bash
# Runs one of the reference comparisons (src/bench/reference/NAME.ts) on the pinned Node.js,
# after checking what it needs (each script checks its own instruments too, and says how to build them).
#
#   scripts/reference.sh server-vs-ref | tester-vs-loadgen | chat-vs-fanout [ITS FLAGS...]
set -euo pipefail
source "$(dirname "$0")/needs.sh"
name=${1:-}
script="$repo/src/bench/reference/$name.ts"
if [ -z "$name" ] || [ ! -f "$script" ] || [ "$name" = loadgen ]; then
  echo "usage: scripts/reference.sh server-vs-ref | tester-vs-loadgen | chat-vs-fanout [flags]" >&2
  exit 2
fi
shift
need_node
needs_met
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cd "$repo"
exec "$node" "$script" "$@"
