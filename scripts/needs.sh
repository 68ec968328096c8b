# Sourced by the scripts in this folder: each checks what it needs before it starts, and says
# what is missing and how to get it (exit status 2), instead of failing half-way with a trace.
#   need_node                 -> $node: the pinned Node.js of node_modules (the machine's own may be too old)
#   need_program PATH HINT    -> PATH must be an executable; HINT says how to get it
#   need_command NAME HINT    -> NAME must be on PATH
#   need_checkouts DIR...     -> each DIR a checkout with its pinned Node (a before/after comparison), and python3 for its table
#   needs_met                 -> exits 2 with every problem listed, if there was any
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
needs_problems=()
need_node() {
  node="$repo/node_modules/node/bin/node"
  if [ ! -x "$node" ]; then
    needs_problems+=("the pinned Node.js is not installed: run 'npm ci' in $repo (the machine's own node $(node --version 2>/dev/null || echo '(none)') cannot run the TypeScript sources unless it is 26 or newer)")
  fi
}
need_program() {
  [ -x "$1" ] || needs_problems+=("$1 is missing: $2")
}
need_command() {
  command -v "$1" >/dev/null 2>&1 || needs_problems+=("$1 is not installed: $2")
}
need_checkouts() {
  for dir in "$@"; do
    need_program "$dir/node_modules/node/bin/node" "run 'npm ci' in $dir (or link its node_modules)"
  done
  need_command python3 "apt-get install python3 (it prints the table)"
}
# How to build one of the C reference instruments (../shared/reference), for a hint.
build_hint() {
  echo "build it: mkdir -p ~/ref && gcc -O2 -pthread -o ~/ref/$1 $repo/../shared/reference/$1.c"
}
needs_met() {
  [ ${#needs_problems[@]} -eq 0 ] && return 0
  echo "$(basename "$0"): cannot run:" >&2
  printf '  - %s\n' "${needs_problems[@]}" >&2
  exit 2
}
