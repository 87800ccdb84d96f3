#!/usr/bin/env bash
# bench/thread_cpu.sh PID PORT [SECONDS] [CONNECTIONS]
#
# CPU time each thread of a running Switchyard (PID, listening on PORT) spends
# per request while wrk sends chat completions for SECONDS (default 10) over
# CONNECTIONS (default 64). Per-thread CPU per request is far less sensitive to
# other load on the machine than req/s, so it is the figure to compare before
# and after a change when the machine is busy. wrk runs on CPU 1; pin the
# gateway yourself (e.g. taskset -c 0).
set -euo pipefail
pid=$1 port=$2 secs=${3:-10} conns=${4:-64}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
snap() {
  for t in /proc/"$pid"/task/*; do
    echo "$(basename "$t") $(awk '{print $14+$15}' "$t/stat") $(cat "$t/comm")"
  done | sort
}
before=$(mktemp) after=$(mktemp) out=$(mktemp)
trap 'rm -f "$before" "$after" "$out"' EXIT
snap >"$before"
taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -s "$here/lua/chat.lua" \
  "http://127.0.0.1:$port/v1/chat/completions" >"$out" 2>&1
snap >"$after"
requests=$(awk '/requests in/ {print $1}' "$out")
echo "requests=$requests $(grep Requests/sec "$out")"
join "$before" "$after" | awk -v r="$requests" -v t="$(getconf CLK_TCK)" \
  '{d=$4-$2; if (d>0) printf "thread %s (%s): %.1f us CPU per request\n", $1, $3, d*1e6/t/r}'
