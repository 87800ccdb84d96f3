#!/usr/bin/env bash
# System calls per request of the Switchyard worker thread (strace -c on its
# thread id) over a fixed wrk run. Same setup as callgrind_per_request.sh.
#
#   bench/syscalls_per_request.sh BINARY CONFIG [LABEL]
#
# Env: PORT (18104), CONNS (64), OUT (a temp dir). strace slows every
# syscall, so req/s here mean nothing; the per-request counts do.
set -euo pipefail
BIN=$(realpath "$1"); CONFIG=$(realpath "$2"); LABEL=${3:-run}
PORT=${PORT:-18104}; CONNS=${CONNS:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$(mktemp -d)}
LUA="$ROOT/bench/lua/chat.lua"
rm -rf "$OUT/data-$LABEL"
SWITCHYARD_DATA_DIR="$OUT/data-$LABEL" taskset -c 0 "$BIN" serve --config "$CONFIG" --host 127.0.0.1 \
  --port "$PORT" --threads 1 >/dev/null 2>"$OUT/gateway-$LABEL.err" &
PID=$!
for _ in $(seq 100); do grep -q listening "$OUT/gateway-$LABEL.err" && break; sleep 0.2; done
taskset -c 1 wrk -t1 -c"$CONNS" -d3s -s "$LUA" "http://127.0.0.1:$PORT" >/dev/null
# The worker: the thread with the most user time after the warm-up.
TID=$(for t in /proc/"$PID"/task/*; do echo "$(awk '{print $14}' "$t/stat") $(basename "$t")"; done |
  sort -n | tail -1 | awk '{print $2}')
strace -c -p "$TID" -o "$OUT/strace-$LABEL" 2>/dev/null &
SPID=$!
sleep 1
N=$(taskset -c 1 wrk -t1 -c"$CONNS" -d8s -s "$LUA" "http://127.0.0.1:$PORT" | awk '/requests in/{print $1}')
kill -INT "$SPID"; wait "$SPID" 2>/dev/null || true
kill "$PID"; wait "$PID" 2>/dev/null || true
echo "$LABEL worker tid=$TID requests=$N"
awk -v n="$N" 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ { printf "  %-16s %7.3f/request\n", $NF, $4 / n }
  $NF == "total" { printf "  %-16s %7.3f/request\n", "total", $4 / n }' "$OUT/strace-$LABEL"
