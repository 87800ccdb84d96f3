#!/usr/bin/env bash
# Instructions per request per thread of a Switchyard binary under callgrind:
# the load-independent figure docs/benchmarks.md quotes for the worker.
#
#   bench/callgrind_per_request.sh BINARY CONFIG [LABEL]
#
# CONFIG must route model `bench-model` to a running mock upstream, e.g.
#   taskset -c 1 build/switchyard-bench-upstream --port 18101 &
# with `api_base: http://127.0.0.1:18101/v1` and `master_key: sk-bench-master`
# (the key bench/lua/chat.lua sends). The gateway runs on CPU 0 with one
# worker thread, wrk on CPU 1: 4 s warm-up, counters zeroed, then a 15 s run.
# Env: PORT (18103), CONNS (64), OUT (a temp dir).
set -euo pipefail
BIN=$(realpath "$1"); CONFIG=$(realpath "$2"); LABEL=${3:-run}
PORT=${PORT:-18103}; CONNS=${CONNS:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$(mktemp -d)}
LUA="$ROOT/bench/lua/chat.lua"
rm -rf "$OUT/data-$LABEL"
SWITCHYARD_DATA_DIR="$OUT/data-$LABEL" taskset -c 0 valgrind --tool=callgrind --separate-threads=yes \
  --callgrind-out-file="$OUT/callgrind-$LABEL" "$BIN" serve --config "$CONFIG" --host 127.0.0.1 \
  --port "$PORT" --threads 1 >/dev/null 2>"$OUT/gateway-$LABEL.err" &
PID=$!
for _ in $(seq 100); do grep -q listening "$OUT/gateway-$LABEL.err" && break; sleep 0.3; done
taskset -c 1 wrk -t1 -c"$CONNS" -d4s -s "$LUA" "http://127.0.0.1:$PORT" >/dev/null
sleep 1; callgrind_control -z "$PID" >/dev/null
N=$(taskset -c 1 wrk -t1 -c"$CONNS" -d15s -s "$LUA" "http://127.0.0.1:$PORT" | awk '/requests in/{print $1}')
sleep 1; callgrind_control -d "$PID" >/dev/null; kill "$PID"; wait "$PID" 2>/dev/null || true
for f in "$OUT/callgrind-$LABEL".*-*; do
  total=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
  [[ -n $total && $total -gt 1000000 ]] && echo "$LABEL requests=$N $(basename "$f") instructions/request=$((total / N))"
done
echo "profiles in $OUT (the thread with the most instructions is the worker)"
