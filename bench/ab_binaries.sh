#!/usr/bin/env bash
# Interleaved A/B of Switchyard binaries on the zero-delay mock: req/s and the
# gateway process's CPU time per request, one worker pinned to CPU 0, mock and
# wrk on CPU 1, binaries alternating round by round so host drift hits both.
#
#   bench/ab_binaries.sh CONNS ROUNDS BINARY...
#
# Env: MOCK_PORT (18831), PORT (18832). Prints one line per run, with the
# hypervisor steal ticks of the run: compare pairs with little steal.
set -euo pipefail
CONNS=$1 ROUNDS=$2; shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOCK_PORT=${MOCK_PORT:-18831} PORT=${PORT:-18832}
LUA="$ROOT/bench/lua/chat.lua"
WORK=$(mktemp -d)
taskset -c 1 "$ROOT/build/switchyard-bench-upstream" --port "$MOCK_PORT" >/dev/null 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null; rm -rf "$WORK"' EXIT
cat >"$WORK/config.yaml" <<YAML
model_list:
  - model_name: bench-model
    litellm_params:
      model: openai/bench-model
      api_base: http://127.0.0.1:$MOCK_PORT/v1
      api_key: sk-bench
general_settings:
  master_key: sk-bench-master
YAML
steal() { awk '$1 == "cpu" {print $9}' /proc/stat; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    rm -rf "$WORK/data"
    SWITCHYARD_DATA_DIR="$WORK/data" taskset -c 0 "$bin" serve --config "$WORK/config.yaml" \
      --host 127.0.0.1 --port "$PORT" --threads 1 >/dev/null 2>"$WORK/err" &
    gw=$!
    for _ in $(seq 50); do grep -q listening "$WORK/err" && break; sleep 0.1; done
    taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$LUA" "http://127.0.0.1:$PORT" >/dev/null 2>&1
    t0=$(cpu_ticks $gw) s0=$(steal)
    out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d10s -s "$LUA" "http://127.0.0.1:$PORT" 2>&1)
    t1=$(cpu_ticks $gw) s1=$(steal)
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    tick_us=$((1000000 / $(getconf CLK_TCK)))
    echo "$bin round $round conns $CONNS req/s $rps cpu_us/req $(((t1 - t0) * tick_us / n)) steal_ticks $((s1 - s0))"
    kill $gw
    wait $gw 2>/dev/null || true
  done
done
