#!/usr/bin/env bash
# bench/run.sh — loopback benchmark: mock upstream vs nginx hop vs Switchyard
# (and the Portkey gateway from npm as a peer).
#
#   bench/run.sh [--quick] [options]
#   bench/run.sh --scenarios a,b,c,d,e,f --targets direct,nginx,portkey,switchyard
#
# Builds nothing. Expects build/switchyard and build/switchyard-bench-upstream
# (cmake --preset release && cmake --build build); installs the pinned Portkey
# gateway into bench/portkey/node_modules with npm ci the first time the
# portkey target is used. See docs/benchmarks.md for what is measured and how
# to read the output.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR="$ROOT/build"
ROUNDS=3
DURATION=10      # seconds per measured wrk run
WARMUP=2         # seconds of warm-up per target per scenario (discarded)
TARGETS="direct,nginx,switchyard"
# Scenario specs: <upstream delay ms>:<connections>[:<body bytes>], stream:<connections>,
# soak:<connections>, or the letters a-h of the performance issue (see usage).
SCENARIOS="0:16 0:64 0:256 60:64"
SOAK_SECONDS=600      # scenario f: length of each target's soak run
SOAK_SET=0
STREAM_CHUNKS=20      # scenario c: content chunks per streamed response ...
STREAM_INTERVAL_MS=5  # ... and the mock's pause before each of them
PROXY_CPUS=${PROXY_CPUS:-0}   # proxy under test (nginx, switchyard)
LOAD_CPUS=${LOAD_CPUS:-1}     # mock upstream + wrk
QUICK=0 ROUNDS_SET=0 DURATION_SET=0 WARMUP_SET=0
FOREIGN_MAX=10                # % of a core used by other processes before a run is disturbed
RETRIES=${RETRIES:-2}         # reruns of a disturbed run before keeping it anyway
RETRY_WAIT=${RETRY_WAIT:-20}  # seconds to wait before such a rerun
SAMPLES=20                    # curl samples of x-litellm-overhead-duration-ms
RESULTS_DIR="$ROOT/bench/results"
LEARNED_STRATEGY=knn          # router of the switchyard-learned target
LEARNED_DATA=""               # its training data (default: synthetic prompts, see below)

usage() {
  cat <<EOF
usage: bench/run.sh [--quick] [options]

  --quick              1 round, 3 s runs, 1 s warm-up (smoke test, not for publishing)
  --rounds N           measured rounds per scenario (default $ROUNDS)
  --duration S         seconds per measured run (default $DURATION)
  --warmup S           warm-up seconds per target per scenario (default $WARMUP)
  --targets LIST       comma list from direct,nginx,portkey,switchyard,switchyard-nolog,
                       switchyard-learned,switchyard-vkey (default $TARGETS;
                       portkey = @portkey-ai/gateway from npm (bench/portkey/,
                       installed on first use), routed to the mock with
                       x-portkey-provider: openai + x-portkey-custom-host;
                       switchyard-nolog = access_log: false; switchyard-learned =
                       model "auto" ranked by an llmrouter-knn router trained at
                       start; switchyard-vkey = a virtual key instead of the
                       master key, with spend tracking)
  --scenarios "LIST"   space- or comma-separated (default "$SCENARIOS"), each one of
                         DELAY_MS:CONNS[:BODY_BYTES]  wrk, non-streaming
                         stream:CONNS                 streaming client, TTFB + total
                         soak:CONNS                   one long wrk run per proxy, RSS over time
                       or a letter of the performance issue:
                         a = 0:16 0:64 0:256          b = 60:64
                         c = stream:1 stream:16       d = 0:64:200 0:64:10240 0:64:51200
                         e = 1500:1000 1500:5000      f = soak:64
                         g = a, adding switchyard-learned to the targets
                         h = a, adding switchyard-vkey to the targets
  --soak-seconds S     length of each soak run (default $SOAK_SECONDS; --quick: 60)
  --stream-chunks N    content chunks per streamed response (default $STREAM_CHUNKS)
  --stream-interval-ms M  mock's pause before each chunk (default $STREAM_INTERVAL_MS)
  --retries N          rerun a run disturbed by other load or hypervisor steal
                       (>$FOREIGN_MAX% of a core) up to N times (default $RETRIES)
  --build-dir DIR      where switchyard and switchyard-bench-upstream live (default build/)
  --results-dir DIR    where to write <timestamp>.md (default bench/results/)
  --learned-strategy S the switchyard-learned target's router: knn (default; the
                       issue's scenario g), svm, mlp, mf or hybrid
  --learned-data FILE  train that router on FILE (compact JSONL: "query" and a flat
                       "quality" object per row, e.g. a shared routing-data training
                       split) instead of 400 synthetic prompts; every candidate becomes a
                       model group on the same mock

Environment: PROXY_CPUS (default 0) and LOAD_CPUS (default 1) are taskset CPU lists.
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=$2; ROUNDS_SET=1; shift ;;
    --duration) DURATION=$2; DURATION_SET=1; shift ;;
    --warmup) WARMUP=$2; WARMUP_SET=1; shift ;;
    --targets) TARGETS=$2; shift ;;
    --retries) RETRIES=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --soak-seconds) SOAK_SECONDS=$2; SOAK_SET=1; shift ;;
    --stream-chunks) STREAM_CHUNKS=$2; shift ;;
    --stream-interval-ms) STREAM_INTERVAL_MS=$2; shift ;;
    --build-dir) BUILD_DIR=$(cd "$2" && pwd); shift ;;
    --results-dir) RESULTS_DIR=$2; shift ;;
    --learned-strategy) LEARNED_STRATEGY=$2; shift ;;
    --learned-data) LEARNED_DATA=$(realpath "$2"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [[ $QUICK == 1 ]]; then  # explicit --rounds/--duration/--warmup still win
  [[ $ROUNDS_SET == 1 ]] || ROUNDS=1
  [[ $DURATION_SET == 1 ]] || DURATION=3
  [[ $WARMUP_SET == 1 ]] || WARMUP=1
  [[ $SOAK_SET == 1 ]] || SOAK_SECONDS=60
fi

# Expand the issue's scenario letters; g and h also add a target.
EXTRA_TARGETS=""
expanded=""
for tok in ${SCENARIOS//,/ }; do
  case "$tok" in
    a) expanded+=" 0:16 0:64 0:256" ;;
    b) expanded+=" 60:64" ;;
    c) expanded+=" stream:1 stream:16" ;;
    d) expanded+=" 0:64:200 0:64:10240 0:64:51200" ;;
    e) expanded+=" 1500:1000 1500:5000" ;;
    f) expanded+=" soak:64" ;;
    g) expanded+=" 0:16 0:64 0:256"; EXTRA_TARGETS+=",switchyard-learned" ;;
    h) expanded+=" 0:16 0:64 0:256"; EXTRA_TARGETS+=",switchyard-vkey" ;;
    stream:[0-9]*|soak:[0-9]*) expanded+=" $tok" ;;
    [0-9]*:[0-9]*) [[ $tok =~ ^[0-9]+:[0-9]+(:[0-9]+)?$ ]] || { echo "run.sh: bad scenario '$tok'" >&2; exit 2; }
                   expanded+=" $tok" ;;
    *) echo "run.sh: unknown scenario '$tok'" >&2; exit 2 ;;
  esac
done
# Drop repeats (g + h both bring a's specs), keep first-seen order.
SCENARIOS=$(echo "$expanded" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ' | sed 's/ $//')
[[ -n $SCENARIOS ]] || { echo "run.sh: no scenarios" >&2; exit 2; }
for t in ${EXTRA_TARGETS//,/ }; do [[ ",$TARGETS," == *",$t,"* ]] || TARGETS+=",$t"; done

IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
has_target() { local t; for t in "${TARGET_LIST[@]}"; do [[ $t == "$1" ]] && return 0; done; return 1; }
has_switchyard() { local t; for t in "${TARGET_LIST[@]}"; do [[ $t == switchyard* ]] && return 0; done; return 1; }
SWITCHYARD_TARGETS="switchyard switchyard-nolog switchyard-learned switchyard-vkey"
for t in "${TARGET_LIST[@]}"; do
  case "$t" in direct|nginx|portkey|switchyard|switchyard-nolog|switchyard-learned|switchyard-vkey) ;;
    *) echo "run.sh: unknown target '$t'" >&2; exit 2 ;; esac
done

# ---------------------------------------------------------------------------
# Preconditions

die() { echo "run.sh: $*" >&2; exit 1; }

MOCK_BIN="$BUILD_DIR/switchyard-bench-upstream"
SY_BIN="$BUILD_DIR/switchyard"
LUA="$ROOT/bench/lua/chat.lua"
missing=()
[[ -x $MOCK_BIN ]] || missing+=("$MOCK_BIN")
if has_switchyard; then [[ -x $SY_BIN ]] || missing+=("$SY_BIN"); fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "run.sh: missing: ${missing[*]}" >&2
  echo "run.sh: build first:  cmake --preset release && cmake --build build" >&2
  echo "        (or just the mock: cmake --build build --target switchyard-bench-upstream)" >&2
  exit 1
fi
for tool in wrk curl taskset ss awk sort; do
  command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
done
has_spec() { [[ " $SCENARIOS " == *" $1"* ]]; }
has_spec stream: && { command -v node >/dev/null || die "node not found (needed by the streaming client)"; }
PORTKEY_DIR="$ROOT/bench/portkey"
PORTKEY_MAIN="$PORTKEY_DIR/node_modules/@portkey-ai/gateway/build/start-server.js"
if has_target portkey; then
  command -v node >/dev/null || die "node not found (portkey target)"
  if [[ ! -f $PORTKEY_MAIN ]]; then
    command -v npm >/dev/null || die "npm not found (the portkey target installs @portkey-ai/gateway with it)"
    echo "# installing the pinned Portkey gateway into bench/portkey (npm ci, once)" >&2
    (cd "$PORTKEY_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci in bench/portkey failed"
  fi
  PORTKEY_VERSION=$(node -p "require('$PORTKEY_DIR/node_modules/@portkey-ai/gateway/package.json').version")
fi
if has_target nginx; then
  NGINX_BIN=$(command -v nginx || true)
  [[ -z $NGINX_BIN && -x /usr/sbin/nginx ]] && NGINX_BIN=/usr/sbin/nginx
  [[ -n $NGINX_BIN ]] || die "nginx not found (apt-get install nginx-light), or drop it with --targets"
fi
NCPU=$(nproc)
if [[ $NCPU -lt 2 ]]; then
  echo "run.sh: warning: only $NCPU CPU; proxy and load generator will share it" >&2
  PROXY_CPUS=0; LOAD_CPUS=0
fi
CLK_TCK=$(getconf CLK_TCK)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TS=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS_DIR"
RAW="$RESULTS_DIR/$TS"        # raw wrk output, configs, logs
mkdir -p "$RAW"
OUT_MD="$RESULTS_DIR/$TS.md"
TMP=$(mktemp -d /tmp/switchyard-bench.XXXXXX)
# Run a private copy so a rebuild during the run cannot mix two binaries.
if has_switchyard; then
  cp "$SY_BIN" "$TMP/switchyard-under-test"
  SY_INFO="${SY_BIN#"$ROOT"/} built $(stat -c '%y' "$SY_BIN" | cut -d. -f1), sha256 $(sha256sum "$TMP/switchyard-under-test" | cut -c1-12)"
  SY_BIN="$TMP/switchyard-under-test"
fi
# switchyard-learned: an llmrouter-knn router (or --learned-strategy) over two
# candidates (bench-a, bench-b, the same mock behind both), trained on synthetic
# prompts with the built-in featurizer, so the measured cost is featurize + score + rank per request.
LEARNED_GROUPS="bench-a bench-b"
if has_target switchyard-learned && [[ -n $LEARNED_DATA ]]; then
  [[ -r $LEARNED_DATA ]] || die "--learned-data: cannot read $LEARNED_DATA"
  cp "$LEARNED_DATA" "$TMP/bench-router.jsonl"
  # The candidates: the keys of the first row's (flat) quality object.
  LEARNED_GROUPS=$(sed -n '1s/.*"quality": *{\([^}]*\)}.*/\1/p' "$LEARNED_DATA" |
    grep -o '"[^"]*" *:' | tr -d '":' | tr '\n' ' ')
  [[ -n $LEARNED_GROUPS ]] || die "--learned-data: no \"quality\" object on the first line"
elif has_target switchyard-learned; then
  awk 'BEGIN {
    srand(7)
    split("load test latency proxy cache budget router token stream model quality cost prompt reply", w, " ")
    for (i = 0; i < 400; i++) {
      q = "question " i ":"
      for (j = 0; j < 12; j++) q = q " " w[int(rand() * 14) + 1]
      a = rand(); b = rand()
      printf "{\"query\": \"%s\", \"quality\": {\"bench-a\": %.3f, \"bench-b\": %.3f}, \"cost_usd\": {\"bench-a\": 0.0001, \"bench-b\": 0.001}}\n", q, a, b
    }
  }' >"$TMP/bench-router.jsonl"
fi
if has_target switchyard-learned; then
  case "$LEARNED_STRATEGY" in knn|svm|mlp|mf|hybrid) ;; *) die "--learned-strategy: knn, svm, mlp, mf or hybrid" ;; esac
  "$SY_BIN" train --strategy "$LEARNED_STRATEGY" --data "$TMP/bench-router.jsonl" \
    --out "$TMP/bench-router.syr" --seed 1 \
    >"$TMP/train.log" 2>&1 || { cat "$TMP/train.log" >&2; die "training the bench router failed"; }
fi
RESULTS_TSV="$RAW/runs.tsv"
printf '#scenario\tdelay_ms\tconns\ttarget\tround\treq_s\tp50_us\tp99_us\tnon2xx\tsocket_errors\trequests\tproxy_cpu_us_per_req\tforeign_cpu_pct\tsteal_pct\n' >"$RESULTS_TSV"
STATS_TSV="$RAW/proc.tsv"
: >"$STATS_TSV"
SAMPLES_TSV="$RAW/samples.tsv"
: >"$SAMPLES_TSV"
STREAM_TSV="$RAW/stream.tsv"
printf '#scenario\tconns\ttarget\tround\trequests\tok\tbad\terrors\tttfb_p50_us\tttfb_p99_us\ttotal_p50_us\ttotal_p99_us\tproxy_cpu_us_per_req\tforeign_cpu_pct\tsteal_pct\n' >"$STREAM_TSV"
SOAK_TSV="$RAW/soak.tsv"
printf '#scenario\ttarget\tconns\tseconds\treq_s\tp50_us\tp99_us\tnon2xx\tsocket_errors\trss_first_kb\trss_warm_kb\trss_end_kb\tgrowth_pct\tpeak_kb\twarm_mark_s\tforeign_cpu_pct\tsteal_pct\n' >"$SOAK_TSV"
OVERHEAD_TSV="$RAW/overhead.tsv"
: >"$OVERHEAD_TSV"

REQ_BODY_TEMPLATE='{"model":"MODEL","messages":[{"role":"system","content":"You are a terse assistant."},{"role":"user","content":"Reply with one short sentence about load testing."}],"max_tokens":64,"temperature":0}'
VKEY=""   # switchyard-vkey: the virtual key generated at start
target_model() { if [[ $1 == switchyard-learned ]]; then echo auto; else echo bench-model; fi; }
target_key() {
  case "$1" in
    switchyard-vkey) echo "$VKEY" ;;
    portkey) echo sk-bench ;;   # Portkey forwards it to the mock as the provider key
    *) echo sk-bench-master ;;
  esac
}
# Extra request headers, one "Name: value" a line.
target_headers() {
  if [[ $1 == portkey ]]; then
    printf 'x-portkey-provider: openai\nx-portkey-custom-host: http://127.0.0.1:%s/v1\n' "$MOCK_PORT"
  fi
}
curl_header_args() {  # target -> sets CURL_HDRS (array of -H arguments)
  CURL_HDRS=()
  local h
  while IFS= read -r h; do [[ -n $h ]] && CURL_HDRS+=(-H "$h"); done < <(target_headers "$1")
}
req_body() { echo "${REQ_BODY_TEMPLATE/MODEL/$(target_model "$1")}"; }

# ---------------------------------------------------------------------------
# Process management (only ever signals PIDs started here)

MOCK_PID="" NGINX_PID="" PORTKEY_PID="" SAMPLER_PID=""
declare -A SY_PIDS=() SY_PORTS=()   # by target: switchyard, switchyard-nolog
stop_pid() {
  local pid=$1
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
stop_stack() {
  local t
  for t in "${!SY_PIDS[@]}"; do stop_pid "${SY_PIDS[$t]}"; done
  SY_PIDS=(); SY_PORTS=()
  stop_pid "$NGINX_PID"; NGINX_PID=""
  stop_pid "$PORTKEY_PID"; PORTKEY_PID=""
  stop_pid "$MOCK_PID"; MOCK_PID=""
}
cleanup() {
  stop_pid "$SAMPLER_PID"
  stop_stack
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {  # below the ephemeral range (32768+), and not in use by any socket
  local p
  while :; do
    p=$(( 20000 + RANDOM % 12000 ))
    ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}

wait_for_line() {  # file pattern timeout_s
  local i
  for i in $(seq $(( $3 * 20 ))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

start_mock() {  # delay_ms
  taskset -c "$LOAD_CPUS" "$MOCK_BIN" --port 0 --delay-ms "$1" --stream-chunks "$STREAM_CHUNKS" \
    --chunk-interval-ms "$STREAM_INTERVAL_MS" >"$TMP/mock.out" 2>"$TMP/mock.err" &
  MOCK_PID=$!
  wait_for_line "$TMP/mock.out" '^listening ' 5 || { cat "$TMP/mock.err" >&2; die "mock upstream did not start"; }
  MOCK_PORT=$(awk '/^listening /{print $2; exit}' "$TMP/mock.out")
}

start_nginx() {
  local dir="$TMP/nginx" user_line=""
  rm -rf "$dir"; mkdir -p "$dir/tmp"
  NGINX_PORT=$(free_port)
  [[ $(id -u) == 0 ]] && user_line="user root;"
  cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes 1;
worker_rlimit_nofile $(ulimit -n);
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/client_body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  upstream mock {
    server 127.0.0.1:$MOCK_PORT;
    keepalive 512;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  taskset -c "$PROXY_CPUS" "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' \
    >"$dir/stdout" 2>&1 &
  NGINX_PID=$!
  local i
  for i in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/health" && break
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$dir/stdout" "$dir/error.log" >&2 2>/dev/null; die "nginx exited"; }
    sleep 0.05
  done
  NGINX_WORKER=$(ps -o pid= --ppid "$NGINX_PID" | head -n1 | tr -d ' ')
  [[ -n $NGINX_WORKER ]] || die "could not find the nginx worker process"
  cp "$dir/nginx.conf" "$RAW/nginx.conf"
}

# The Portkey gateway's own Node server (build/start-server.js), headless (no
# log UI), pinned like the other proxies. Every request names the provider and
# the mock's address in headers (target_headers); 127.0.0.1 is on its default
# list of trusted custom hosts.
# It has no bind-address option and listens on all interfaces.
start_portkey() {
  local dir="$TMP/portkey" i
  mkdir -p "$dir"
  for _ in 1 2 3; do  # a port can be taken between free_port and listen
    PORTKEY_PORT=$(free_port)
    NODE_ENV=production taskset -c "$PROXY_CPUS" node "$PORTKEY_MAIN" --port="$PORTKEY_PORT" --headless \
      >"$dir/stdout" 2>&1 &
    PORTKEY_PID=$!
    for i in $(seq 200); do
      [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORTKEY_PORT/" || true) != 000 ]] && return 0
      kill -0 "$PORTKEY_PID" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$PORTKEY_PID" 2>/dev/null; then
      tail -n 20 "$dir/stdout" >&2; die "portkey did not answer within 10 s"
    fi
    wait "$PORTKEY_PID" 2>/dev/null || true
    PORTKEY_PID=""
    grep -q EADDRINUSE "$dir/stdout" || break
  done
  tail -n 20 "$dir/stdout" >&2
  die "portkey exited"
}

start_switchyard() {  # target (switchyard | switchyard-nolog)
  local t=$1 cfg="$TMP/$1.yaml" err="$TMP/$1.err" group
  {
    echo "model_list:"
    for group in bench-model $LEARNED_GROUPS; do
      [[ $group != bench-model && $t != switchyard-learned ]] && continue
      printf '  - model_name: %s\n    litellm_params:\n      model: openai/bench-model\n' "$group"
      printf '      api_base: http://127.0.0.1:%s/v1\n      api_key: sk-bench\n' "$MOCK_PORT"
    done
    printf 'general_settings:\n  master_key: sk-bench-master\n'
    if [[ $t == switchyard-learned ]]; then
      printf 'router_settings:\n  routing_strategy: llmrouter-%s\n  routing_strategy_args:\n' \
        "$LEARNED_STRATEGY"
      printf '    model_path: %s\n    cost_weight: 0\n' "$TMP/bench-router.syr"
    fi
    if [[ $t == switchyard-nolog ]]; then printf 'switchyard_settings:\n  access_log: false\n'; fi
  } >"$cfg"
  cp "$cfg" "$RAW/$t.yaml"
  SWITCHYARD_DATA_DIR="$TMP/data-$t" taskset -c "$PROXY_CPUS" "$SY_BIN" serve --config "$cfg" \
    --host 127.0.0.1 --port 0 --threads 1 >/dev/null 2>"$err" &
  SY_PIDS[$t]=$!
  if ! wait_for_line "$err" '"msg":"listening"' 10; then
    tail -n 20 "$err" >&2
    die "$t did not print a \"listening\" line within 10 s"
  fi
  SY_PORTS[$t]=$(grep -m1 '"msg":"listening"' "$err" | grep -o '"port":[0-9]*' | head -n1 | cut -d: -f2)
  [[ -n ${SY_PORTS[$t]} ]] || die "could not parse the $t port from: $(grep -m1 '"msg":"listening"' "$err")"
  if [[ $t == switchyard-vkey ]]; then
    VKEY=$(curl -s --max-time 5 -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench-master' \
      -d '{"models": ["bench-model"], "max_budget": 1000000}' \
      "http://127.0.0.1:${SY_PORTS[$t]}/key/generate" | sed -n 's/.*"key" *: *"\(sk-[^"]*\)".*/\1/p')
    [[ -n $VKEY ]] || die "switchyard-vkey: /key/generate returned no key"
  fi
}

target_url() {
  case "$1" in
    direct) echo "http://127.0.0.1:$MOCK_PORT" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PORT" ;;
    portkey) echo "http://127.0.0.1:$PORTKEY_PORT" ;;
    switchyard*) echo "http://127.0.0.1:${SY_PORTS[$1]}" ;;
  esac
}
# PIDs whose CPU time is charged to a target (nginx: master + worker).
target_pids() {
  case "$1" in
    direct) echo "" ;;
    nginx) echo "$NGINX_PID $NGINX_WORKER" ;;
    portkey) echo "$PORTKEY_PID" ;;
    switchyard*) echo "${SY_PIDS[$1]}" ;;
  esac
}
# PID whose memory is reported (nginx: the worker that does the proxying).
target_mem_pid() {
  case "$1" in
    direct) echo "" ;;
    nginx) echo "$NGINX_WORKER" ;;
    portkey) echo "$PORTKEY_PID" ;;
    switchyard*) echo "${SY_PIDS[$1]}" ;;
  esac
}

cpu_ticks() {  # sum of utime+stime over PIDs
  local total=0 pid f
  for pid in "$@"; do
    # Fields after the ')' of comm: utime is the 12th, stime the 13th.
    f=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    set -- $f
    total=$(( total + ${12} + ${13} ))
  done
  echo "$total"
}

sys_busy_ticks() {  # user+nice+system+irq+softirq ticks over all CPUs (steal excluded)
  # irq/softirq are included because loopback networking done in softirq
  # context is also charged to the processes' own utime/stime.
  awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat
}
steal_ticks() {
  awk '$1 == "cpu" {print $9 + 0; exit}' /proc/stat
}
children_ticks() {  # sets CHILD_TICKS: user+sys CPU of this shell's reaped children
  # Must not run in a $(...) subshell: a subshell has its own (empty) child
  # accounting. `times` prints the shell's then the children's "XmY.ZZZs XmY.ZZZs".
  times >"$TMP/times"
  CHILD_TICKS=$(awk -v hz="$CLK_TCK" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
    printf "%d", t * hz + 0.5 }' "$TMP/times")
}

status_kb() {  # pid field
  awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo ""
}

check_target() {  # target -> fails loudly unless a chat completion returns 200
  local t=$1 url code
  url="$(target_url "$t")/v1/chat/completions"
  curl_header_args "$t"
  code=$(curl -s -o "$TMP/check.body" -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
    "${CURL_HDRS[@]}" -H "Authorization: Bearer $(target_key "$t")" -d "$(req_body "$t")" "$url" || true)
  if [[ $code != 200 ]]; then
    echo "run.sh: $t: POST $url returned HTTP '$code':" >&2
    head -c 600 "$TMP/check.body" >&2 2>/dev/null; echo >&2
    [[ $t == switchyard* ]] && { echo "--- $t stderr (tail)" >&2; tail -n 20 "$TMP/$t.err" >&2; }
    [[ $t == portkey ]] && { echo "--- portkey output (tail)" >&2; tail -n 20 "$TMP/portkey/stdout" >&2; }
    die "target $t is not answering chat completions"
  fi
}

BODY_BYTES=""   # scenario d: request body size of the current spec ("" = default body)
run_wrk() {  # target conns seconds outfile
  BENCH_MODEL=$(target_model "$1") BENCH_AUTH="Bearer $(target_key "$1")" \
    BENCH_HEADERS=$(target_headers "$1") BENCH_BODY_BYTES=$BODY_BYTES \
    taskset -c "$LOAD_CPUS" wrk -t1 -c"$2" -d"$3"s --timeout 5s --latency -s "$LUA" "$(target_url "$1")" >"$4" 2>&1 || true
}

# ---------------------------------------------------------------------------
# Overhead sampling: single requests on an idle system via curl.

sample_overheads() {  # scenario_id
  local sid=$1 t url i line
  for t in "${TARGET_LIST[@]}"; do
    url="$(target_url "$t")/v1/chat/completions"
    curl_header_args "$t"
    for i in $(seq "$SAMPLES"); do
      line=$(curl -s -o /dev/null -D "$TMP/hdr" -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' \
        "${CURL_HDRS[@]}" -H "Authorization: Bearer $(target_key "$t")" -d "$(req_body "$t")" "$url" || echo "000 0")
      local hdr
      hdr=$(tr -d '\r' <"$TMP/hdr" | awk -F': *' 'tolower($1) == "x-litellm-overhead-duration-ms" {print $2}')
      printf '%s\t%s\t%s\t%s\t%s\n' "$sid" "$t" "${line% *}" "${line#* }" "${hdr:--}" >>"$SAMPLES_TSV"
    done
  done
}

# ---------------------------------------------------------------------------
# Main loop

# Streaming client (scenario c): same pinning as wrk.
run_stream() {  # target conns seconds outfile
  local hdr args=()
  while IFS= read -r hdr; do [[ -n $hdr ]] && args+=(--header "$hdr"); done < <(target_headers "$1")
  taskset -c "$LOAD_CPUS" node "$ROOT/bench/stream_client.mjs" --url "$(target_url "$1")" --conns "$2" \
    --duration "$3" --chunks "$STREAM_CHUNKS" --model "$(target_model "$1")" \
    --auth "Bearer $(target_key "$1")" "${args[@]}" >"$4" 2>&1 || true
}
run_load() {  # target conns seconds outfile
  if [[ $KIND == stream ]]; then run_stream "$@"; else run_wrk "$@"; fi
}

# Scenario f: one long wrk run per proxy target while a sampler records the
# proxy's VmRSS once a second; compares RSS at the end of the warm-up (the
# first 20%: minute 2 of 10) with RSS at the end of the run.
rss_sampler() {  # pid file
  local t0 now
  t0=$(date +%s%N)
  while kill -0 "$1" 2>/dev/null; do
    now=$(date +%s%N)
    echo "$(( (now - t0) / 1000000 )) $(status_kb "$1" VmRSS)" >>"$2"
    sleep 1
  done
}
run_soak() {  # sid conns
  local sid=$1 conns=$2 t pid pids out samples w0 w1 b0 b1 s0 s1 k0 k1 foreign steal summary lat
  for t in "${TARGET_LIST[@]}"; do
    [[ $t == direct ]] && continue
    pid=$(target_mem_pid "$t")
    out="$RAW/$sid-$t.txt"; samples="$RAW/$sid-$t-rss.txt"; : >"$samples"
    echo "# [$sid] soak $t: ${SOAK_SECONDS}s, $conns connections, RSS sampled every 1 s" >&2
    rss_sampler "$pid" "$samples" &
    SAMPLER_PID=$!
    pids=$(target_pids "$t")
    k0=$(cpu_ticks $pids "$MOCK_PID"); children_ticks; w0=$CHILD_TICKS; b0=$(sys_busy_ticks); s0=$(steal_ticks)
    run_wrk "$t" "$conns" "$SOAK_SECONDS" "$out"
    k1=$(cpu_ticks $pids "$MOCK_PID"); children_ticks; w1=$CHILD_TICKS; b1=$(sys_busy_ticks); s1=$(steal_ticks)
    stop_pid "$SAMPLER_PID"; SAMPLER_PID=""
    foreign=$(awk -v b=$(( b1 - b0 )) -v k=$(( k1 - k0 + w1 - w0 )) -v d="$SOAK_SECONDS" -v hz="$CLK_TCK" \
      'BEGIN {printf "%.0f", (b - k) / (d * hz) * 100}')
    steal=$(awk -v s=$(( s1 - s0 )) -v d="$SOAK_SECONDS" -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", s / (d * hz) * 100}')
    summary=$(grep '^BENCH_SUMMARY' "$out" || true)
    lat=$(grep '^BENCH_LATENCY_US' "$out" || true)
    [[ -n $summary && -n $lat ]] || { cat "$out" >&2; die "wrk produced no summary for the $t soak"; }
    # The warm-up mark is the first sample at or after 20% of the run; the end
    # is the last sample taken while wrk ran.
    awk -v sid="$sid" -v t="$t" -v c="$conns" -v secs="$SOAK_SECONDS" -v hwm="$(status_kb "$pid" VmHWM)" \
      -v fo="$foreign" -v st="$steal" -v s="$summary $lat" '
      NF == 2 && $2 != "" { n++; ms[n] = $1; kb[n] = $2 }
      END {
        split(s, f, " "); for (i = 2; i in f; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
        mark = secs * 1000 * 0.2; w = 0
        for (i = 1; i <= n; i++) if (ms[i] >= mark) { w = i; break }
        if (w == 0) w = n
        rps = v["requests"] / (v["duration_us"] / 1e6)
        sock = v["connect_err"] + v["read_err"] + v["write_err"] + v["timeout_err"]
        growth = (n > 0 && kb[w] > 0) ? (kb[n] - kb[w]) / kb[w] * 100 : 0
        printf "%s\t%s\t%s\t%s\t%.1f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%s\t%d\t%d\t%d\n", sid, t, c, secs, rps, v["p50"], v["p99"],
          v["non2xx"], sock, kb[1], kb[w], kb[n], growth, hwm, ms[w] / 1000, fo, st
      }' "$samples" >>"$SOAK_TSV"
    tail -n 1 "$SOAK_TSV" | awk -F'\t' '{printf "# [%s] %s: %.0f req/s, errors %d/%d, RSS %.1f MiB at %ds -> %.1f MiB at end (%+.2f%%), peak %.1f MiB, foreign-cpu %d%%, steal %d%%\n",
      $1, $2, $5, $8, $9, $11 / 1024, $15, $12 / 1024, $13, $14 / 1024, $16, $17}' >&2
  done
}

# Switchyard's own view of its overhead: the switchyard_overhead_duration_seconds
# histogram from /metrics, summed over routes (covers warm-up and all rounds).
scrape_overhead() {  # sid
  local t
  for t in "${!SY_PIDS[@]}"; do
    curl -s --max-time 5 "$(target_url "$t")/metrics" >"$RAW/$1-$t.metrics" || continue
    awk -v sid="$1" -v t="$t" '
      /^switchyard_overhead_duration_seconds_bucket/ {
        le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le); b[le] += $NF; if (!(le in seen)) { seen[le] = 1; order[++nb] = le } }
      /^switchyard_overhead_duration_seconds_sum/ { sum += $NF }
      /^switchyard_overhead_duration_seconds_count/ { cnt += $NF }
      END {
        if (cnt == 0) exit
        # Upper bound of the bucket holding the q-quantile.
        for (qi = 1; qi <= 2; qi++) {
          q = (qi == 1) ? 0.5 : 0.99; r[qi] = "+Inf"
          for (i = 1; i <= nb; i++) if (b[order[i]] >= q * cnt) { r[qi] = order[i]; break }
        }
        printf "%s\t%s\t%d\t%.4f\t%s\t%s\n", sid, t, cnt, sum / cnt * 1000, r[1], r[2]
      }' "$RAW/$1-$t.metrics" >>"$OVERHEAD_TSV"
  done
}

echo "# raw output: $RAW" >&2
total_runs=0
for spec in $SCENARIOS; do [[ $spec == soak:* ]] || total_runs=$(( total_runs + ROUNDS * ${#TARGET_LIST[@]} )); done
echo "# $total_runs measured runs of ${DURATION}s or more (+ warm-up), rounds=$ROUNDS, targets=$TARGETS$(has_spec soak: && echo "; soak ${SOAK_SECONDS}s per proxy")" >&2

run_no=0
for spec in $SCENARIOS; do
  case "$spec" in
    stream:*) KIND=stream; delay=0; conns=${spec#stream:}; BODY_BYTES=""; sid="stream-c$conns" ;;
    soak:*) KIND=soak; delay=0; conns=${spec#soak:}; BODY_BYTES=""; sid="soak-c$conns" ;;
    *) KIND=wrk; IFS=: read -r delay conns BODY_BYTES <<<"$spec"; sid="d${delay}c${conns}${BODY_BYTES:+b$BODY_BYTES}" ;;
  esac
  # A run must span many upstream round trips: with a 1.5 s upstream, at
  # least 15 s (wrk does not count requests still in flight when it stops).
  RUN_SECONDS=$(( DURATION > delay * 10 / 1000 ? DURATION : (delay * 10 + 999) / 1000 ))
  start_mock "$delay"
  has_target nginx && start_nginx
  has_target portkey && start_portkey
  for t in $SWITCHYARD_TARGETS; do if has_target "$t"; then start_switchyard "$t"; fi; done
  for t in "${TARGET_LIST[@]}"; do check_target "$t"; done

  declare -A IDLE_RSS=()
  for t in "${TARGET_LIST[@]}"; do
    p=$(target_mem_pid "$t"); [[ -n $p ]] && IDLE_RSS[$t]=$(status_kb "$p" VmRSS)
  done

  if [[ $KIND == stream ]]; then
    # The integrity check must be able to fail: told to expect one chunk more
    # than the mock sends, the client has to reject every stream.
    STREAM_CHUNKS=$(( STREAM_CHUNKS + 1 )) run_stream direct 1 1 "$RAW/$sid-selfcheck.txt"
    grep -q '^STREAM_SUMMARY .* ok=0 bad=[1-9]' "$RAW/$sid-selfcheck.txt" ||
      { cat "$RAW/$sid-selfcheck.txt" >&2; die "stream_client accepted streams with a missing chunk"; }
  fi
  if [[ $KIND == soak ]]; then
    run_soak "$sid" "$conns"
  else
    for t in "${TARGET_LIST[@]}"; do
      echo "# [$sid] warm-up $t (${WARMUP}s)" >&2
      run_load "$t" "$conns" "$WARMUP" "$RAW/$sid-warmup-$t.txt"
    done
  fi

  n=${#TARGET_LIST[@]}
  [[ $KIND == soak ]] && n=0
  for (( r = 1; r <= ROUNDS && n > 0; r++ )); do
    for (( k = 0; k < n; k++ )); do
      t=${TARGET_LIST[$(( (k + r - 1) % n ))]}   # rotate order every round
      run_no=$(( run_no + 1 ))
      out="$RAW/$sid-r$r-$t.txt"
      pids=$(target_pids "$t")
      for (( attempt = 0; ; attempt++ )); do
        c0=$(cpu_ticks $pids)
        # Interference check: system busy time not accounted for by the proxy,
        # the mock or the load client is someone else's (a compile, another benchmark).
        k0=$(cpu_ticks $pids "$MOCK_PID"); children_ticks; w0=$CHILD_TICKS; b0=$(sys_busy_ticks); s0=$(steal_ticks)
        run_load "$t" "$conns" "$RUN_SECONDS" "$out"
        k1=$(cpu_ticks $pids "$MOCK_PID"); children_ticks; w1=$CHILD_TICKS; b1=$(sys_busy_ticks); s1=$(steal_ticks)
        c1=$(cpu_ticks $pids)
        foreign=$(awk -v b=$(( b1 - b0 )) -v k=$(( k1 - k0 + w1 - w0 )) -v d="$RUN_SECONDS" -v hz="$CLK_TCK" \
          'BEGIN {f = (b - k) / (d * hz) * 100; printf "%.0f", f}')
        steal=$(awk -v s=$(( s1 - s0 )) -v d="$RUN_SECONDS" -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", s / (d * hz) * 100}')
        if [[ $KIND == stream ]]; then
          summary=$(grep '^STREAM_SUMMARY' "$out" || true)
          if [[ -z $summary ]]; then
            echo "run.sh: the streaming client produced no summary for $t ($out):" >&2; cat "$out" >&2
            die "streaming client failed"
          fi
          row_file=$STREAM_TSV
          row=$(echo "$summary" | awk -v sid="$sid" -v c="$conns" -v t="$t" -v r="$r" \
            -v dc=$(( c1 - c0 )) -v hz="$CLK_TCK" -v haspid="${pids:+1}" -v fo="$foreign" -v st="$steal" '{
              for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
              cpu = (haspid && v["requests"] > 0) ? dc / hz * 1e6 / v["requests"] : -1
              printf "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%d\t%d\n", sid, c, t, r, v["requests"], v["ok"], v["bad"],
                v["errors"], v["ttfb_p50_us"], v["ttfb_p99_us"], v["total_p50_us"], v["total_p99_us"], cpu, fo, st
            }')
          echo "$row" | awk -F'\t' -v n="$run_no" -v tot="$total_runs" -v lim="$FOREIGN_MAX" '{printf "# [%d/%d] %s %-10s round %s: %d streams, %d intact, %d bad, %d errors; first chunk p50 %.2f ms p99 %.2f ms; total p50 %.2f ms  foreign-cpu %d%%  steal %d%%%s\n", n, tot, $1, $3, $4, $5, $6, $7, $8, $9/1000, $10/1000, $11/1000, $14, $15, ($14 > lim || $15 > lim ? "  <-- interference" : "")}' >&2
          grep '^stream_client:' "$out" >&2 || true
        else
          summary=$(grep '^BENCH_SUMMARY' "$out" || true)
          lat=$(grep '^BENCH_LATENCY_US' "$out" || true)
          if [[ -z $summary || -z $lat ]]; then
            echo "run.sh: wrk produced no summary for $t ($out):" >&2; cat "$out" >&2
            die "wrk failed"
          fi
          row_file=$RESULTS_TSV
          # key=value -> TSV; cpu per request in microseconds.
          row=$(echo "$summary $lat" | awk -v sid="$sid" -v d="$delay" -v c="$conns" -v t="$t" -v r="$r" \
            -v dc=$(( c1 - c0 )) -v hz="$CLK_TCK" -v haspid="${pids:+1}" -v fo="$foreign" -v st="$steal" '{
              for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
              rps = v["requests"] / (v["duration_us"] / 1e6)
              sock = v["connect_err"] + v["read_err"] + v["write_err"] + v["timeout_err"]
              cpu = (haspid && v["requests"] > 0) ? dc / hz * 1e6 / v["requests"] : -1
              printf "%s\t%s\t%s\t%s\t%s\t%.1f\t%d\t%d\t%d\t%d\t%d\t%.2f\t%d\t%d\n", sid, d, c, t, r, rps, v["p50"], v["p99"], v["non2xx"], sock, v["requests"], cpu, fo, st
            }')
          echo "$row" | awk -F'\t' -v n="$run_no" -v tot="$total_runs" -v lim="$FOREIGN_MAX" '{printf "# [%d/%d] %s %-10s round %s: %8.0f req/s  p50 %.2f ms  p99 %.2f ms  non2xx %d  sock_err %d  foreign-cpu %d%%  steal %d%%%s\n", n, tot, $1, $4, $5, $6, $7/1000, $8/1000, $9, $10, $13, $14, ($13 > lim || $14 > lim ? "  <-- interference" : "")}' >&2
        fi
        sleep 1
        if (( (foreign > FOREIGN_MAX || steal > FOREIGN_MAX) && attempt < RETRIES )); then
          echo "$row" >>"$RAW/discarded.tsv"
          mv "$out" "${out%.txt}-discarded$attempt.txt"
          echo "# other load on the machine; discarding this run and retrying in ${RETRY_WAIT}s ($(( attempt + 1 ))/$RETRIES)" >&2
          sleep "$RETRY_WAIT"
          continue
        fi
        echo "$row" >>"$row_file"
        break
      done
    done
  done

  sleep 1
  for t in "${TARGET_LIST[@]}"; do
    p=$(target_mem_pid "$t")
    [[ -n $p ]] || continue
    printf '%s\t%s\t%s\t%s\t%s\n' "$sid" "$t" "${IDLE_RSS[$t]:-}" "$(status_kb "$p" VmHWM)" "$(status_kb "$p" VmRSS)" >>"$STATS_TSV"
  done
  scrape_overhead "$sid"
  if [[ $KIND == wrk && $delay == 0 && -z $BODY_BYTES ]] && [[ ! -s $SAMPLES_TSV ]]; then sample_overheads "$sid"; fi
  for t in "${!SY_PIDS[@]}"; do cp "$TMP/$t.err" "$RAW/$sid-$t.stderr"; done
  [[ -n $NGINX_PID ]] && cp "$TMP/nginx/error.log" "$RAW/$sid-nginx-error.log" 2>/dev/null || true
  [[ -n $PORTKEY_PID ]] && cp "$TMP/portkey/stdout" "$RAW/$sid-portkey.out" 2>/dev/null || true
  stop_stack
  unset IDLE_RSS
done

# ---------------------------------------------------------------------------
# Report

median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
col() {  # sid target column -> median
  awk -F'\t' -v s="$1" -v t="$2" -v c="$3" '$1 == s && $4 == t {print $c}' "$RESULTS_TSV" | median
}
colsum() {
  awk -F'\t' -v s="$1" -v t="$2" -v c="$3" '$1 == s && $4 == t {n += $c} END {print n + 0}' "$RESULTS_TSV"
}
mem() {  # sid target column(3 idle,4 hwm,5 rss) -> MiB
  awk -F'\t' -v s="$1" -v t="$2" -v c="$3" '$1 == s && $2 == t && $c != "" {printf "%.1f", $c / 1024; exit}' "$STATS_TSV"
}
fmt_ms() { awk -v x="$1" 'BEGIN {if (x == "") print "—"; else printf "%.2f", x / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b == 0) print "—"; else printf "%.2f×", a / b}'; }
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "") print "—"; else printf "%+.2f", (a - b) / 1000}'; }
or_dash() { [[ -n $1 ]] && echo "$1" || echo "—"; }

cpu_model=$(lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print $2; exit}')
git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
git_dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo " (dirty tree)" || true)
sy_info="—"
if has_switchyard; then
  sy_info=$SY_INFO
fi

{
  echo "# Switchyard loopback benchmark — $TS"
  echo
  echo "- Command: \`bench/run.sh$([[ $QUICK == 1 ]] && echo " --quick") --rounds $ROUNDS --duration $DURATION --warmup $WARMUP --retries $RETRIES --targets $TARGETS --scenarios \"$SCENARIOS\"$([[ $LEARNED_STRATEGY != knn ]] && echo " --learned-strategy $LEARNED_STRATEGY")$([[ -n $LEARNED_DATA ]] && echo " --learned-data $LEARNED_DATA")\`"
  echo "- Machine: $(uname -sr), $NCPU CPUs, $cpu_model; proxy pinned to CPU $PROXY_CPUS, mock upstream + wrk (1 thread) to CPU $LOAD_CPUS"
  echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Tree: $git_rev$git_dirty; switchyard binary: $sy_info"
  echo "- $(wrk --version 2>&1 | head -n1 | cut -c1-60); nginx $("${NGINX_BIN:-nginx}" -v 2>&1 | sed 's/.*nginx\///')$(has_target portkey && echo "; @portkey-ai/gateway $PORTKEY_VERSION on Node $(node --version)")"
  echo "- Each cell is the median of $ROUNDS interleaved run(s) of ${DURATION}s (at least 10 upstream delays: 15 s on a 1.5 s upstream); errors are summed over all runs."
  echo "  Proxy CPU is user+sys time of the proxy process(es) per request. RSS is the proxy process"
  echo "  (nginx: its single worker): idle before load, peak (VmHWM) and after load, in MiB."
  discarded=0; [[ -f $RAW/discarded.tsv ]] && discarded=$(wc -l <"$RAW/discarded.tsv")
  # runs.tsv has foreign/steal in columns 13/14, stream.tsv in 14/15.
  awk -F'\t' -v lim="$FOREIGN_MAX" -v disc="$discarded" 'FNR == 1 {fc = (FILENAME ~ /stream/) ? 14 : 13}
    !/^#/ {n++; f = $fc; x = $(fc + 1); if (f > m) m = f; if (f > lim || x > lim) bad++; if (x > st) st = x}
    END {printf "- Interference check: CPU time used by processes other than the proxy, mock and wrk peaked at %d%% of one core in a kept run (%d of %d kept runs above %d%% foreign or steal; %d disturbed runs discarded and rerun); hypervisor steal peaked at %d%%.%s\n",
      m, bad, n, lim, disc, st, (bad > 0 ? " **Some kept runs were disturbed; rerun on an idle machine before trusting these figures.**" : "")}' "$RESULTS_TSV" "$STREAM_TSV"
  echo
  for spec in $SCENARIOS; do
    [[ $spec == stream:* || $spec == soak:* ]] && continue
    IFS=: read -r delay conns BODY_BYTES <<<"$spec"
    sid="d${delay}c${conns}${BODY_BYTES:+b$BODY_BYTES}"
    body_note=""
    [[ -n $BODY_BYTES ]] && body_note=", $(awk -v b="$BODY_BYTES" 'BEGIN {if (b >= 1024) printf "%g KiB", b / 1024; else printf "%d B", b}') request bodies"
    ngx_rps=$(col "$sid" nginx 6); ngx_p50=$(col "$sid" nginx 7); ngx_p99=$(col "$sid" nginx 8)
    dir_p50=$(col "$sid" direct 7); dir_p99=$(col "$sid" direct 8)
    if [[ $delay == 0 ]]; then
      echo "## Zero upstream delay, $conns connections$body_note"
      echo
      echo "| target | req/s | p50 ms | p99 ms | req/s vs nginx | p50 vs nginx | p99 vs nginx | non-2xx/3xx | socket errors | proxy CPU µs/req | RSS idle / peak / after MiB |"
      echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    else
      echo "## ${delay} ms upstream delay, $conns connections (= requests in flight; ≈ $(awk -v c="$conns" -v d="$delay" 'BEGIN {printf "%.0f", c * 1000 / d}') req/s offered)$body_note"
      echo
      echo "| target | req/s | p50 ms | p99 ms | added p50 ms vs direct | added p99 ms vs direct | non-2xx/3xx | socket errors | proxy CPU µs/req | RSS idle / peak / after MiB |"
      echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    fi
    for t in "${TARGET_LIST[@]}"; do
      rps=$(col "$sid" "$t" 6); p50=$(col "$sid" "$t" 7); p99=$(col "$sid" "$t" 8)
      cpu=$(col "$sid" "$t" 12)
      cpu_s=$(awk -v x="$cpu" 'BEGIN {if (x == "" || x < 0) print "—"; else printf "%.1f", x}')
      rss="—"
      [[ $t != direct ]] && rss="$(or_dash "$(mem "$sid" "$t" 3)") / $(or_dash "$(mem "$sid" "$t" 4)") / $(or_dash "$(mem "$sid" "$t" 5)")"
      rps_s=$(awk -v x="$rps" 'BEGIN {printf "%.0f", x}')
      if [[ $delay == 0 ]]; then
        vs1=$(ratio "$rps" "$ngx_rps"); vs2=$(ratio "$p50" "$ngx_p50"); vs3=$(ratio "$p99" "$ngx_p99")
        [[ $t == nginx ]] && { vs1="1.00×"; vs2="1.00×"; vs3="1.00×"; }
        echo "| $t | $rps_s | $(fmt_ms "$p50") | $(fmt_ms "$p99") | $vs1 | $vs2 | $vs3 | $(colsum "$sid" "$t" 9) | $(colsum "$sid" "$t" 10) | $cpu_s | $rss |"
      else
        a50="—"; a99="—"
        [[ $t != direct ]] && { a50=$(diff_ms "$p50" "$dir_p50"); a99=$(diff_ms "$p99" "$dir_p99"); }
        echo "| $t | $rps_s | $(fmt_ms "$p50") | $(fmt_ms "$p99") | $a50 | $a99 | $(colsum "$sid" "$t" 9) | $(colsum "$sid" "$t" 10) | $cpu_s | $rss |"
      fi
    done
    echo
  done
  for spec in $SCENARIOS; do
    [[ $spec == stream:* ]] || continue
    conns=${spec#stream:}; sid="stream-c$conns"
    echo "## Streaming, $conns connection(s): $STREAM_CHUNKS chunks $STREAM_INTERVAL_MS ms apart"
    echo
    echo "Time to first chunk = request written → first complete SSE event read; total = → end of the"
    echo "response. \"intact\" = every content delta, finish_reason and exactly one final [DONE] arrived"
    echo "(bench/stream_client.mjs). Medians over rounds of each run's p50/p99."
    echo
    echo "| target | streams intact / sent | bad | errors | first chunk p50 ms | p99 ms | added p50 vs direct | added p99 vs direct | total p50 ms | total p99 ms | added total p50 vs direct | proxy CPU µs/stream | RSS idle / peak / after MiB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    scol() { awk -F'\t' -v s="$sid" -v t="$1" -v c="$2" '$1 == s && $3 == t {print $c}' "$STREAM_TSV" | median; }
    ssum() { awk -F'\t' -v s="$sid" -v t="$1" -v c="$2" '$1 == s && $3 == t {n += $c} END {print n + 0}' "$STREAM_TSV"; }
    d50=$(scol direct 9); d99=$(scol direct 10); dt50=$(scol direct 11)
    for t in "${TARGET_LIST[@]}"; do
      f50=$(scol "$t" 9); f99=$(scol "$t" 10); t50=$(scol "$t" 11); t99=$(scol "$t" 12); cpu=$(scol "$t" 13)
      a1="—"; a2="—"; a3="—"
      [[ $t != direct ]] && { a1=$(diff_ms "$f50" "$d50"); a2=$(diff_ms "$f99" "$d99"); a3=$(diff_ms "$t50" "$dt50"); }
      rss="—"
      [[ $t != direct ]] && rss="$(or_dash "$(mem "$sid" "$t" 3)") / $(or_dash "$(mem "$sid" "$t" 4)") / $(or_dash "$(mem "$sid" "$t" 5)")"
      cpu_s=$(awk -v x="$cpu" 'BEGIN {if (x == "" || x < 0) print "—"; else printf "%.1f", x}')
      echo "| $t | $(ssum "$t" 6) / $(ssum "$t" 5) | $(ssum "$t" 7) | $(ssum "$t" 8) | $(fmt_ms "$f50") | $(fmt_ms "$f99") | $a1 | $a2 | $(fmt_ms "$t50") | $(fmt_ms "$t99") | $a3 | $cpu_s | $rss |"
    done
    echo
  done
  if [[ $(grep -vc '^#' "$SOAK_TSV") -gt 0 ]]; then
    echo "## Soak: one ${SOAK_SECONDS}s wrk run per proxy, zero upstream delay"
    echo
    echo "RSS of the proxy process sampled once a second (\`${RAW#"$ROOT"/}/soak-*-rss.txt\`). Growth compares"
    echo "the end of the warm-up (first sample at or after 20% of the run, minute 2 of 10) with the end."
    echo
    echo "| target | connections | req/s | p50 ms | p99 ms | non-2xx/3xx | socket errors | RSS at start MiB | RSS after warm-up MiB (at s) | RSS at end MiB | growth | peak RSS MiB | foreign CPU % / steal % |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '!/^#/ {printf "| %s | %s | %.0f | %.2f | %.2f | %d | %d | %.1f | %.1f (%d) | %.1f | %+.2f%% | %.1f | %d / %d |\n",
      $2, $3, $5, $6 / 1000, $7 / 1000, $8, $9, $10 / 1024, $11 / 1024, $15, $12 / 1024, $13, $14 / 1024, $16, $17}' "$SOAK_TSV"
    echo
  fi
  if [[ -s $OVERHEAD_TSV ]]; then
    echo "## Switchyard's own overhead (\`switchyard_overhead_duration_seconds\` from /metrics)"
    echo
    echo "Every request of the scenario (warm-up and all rounds), all routes. p50/p99 are the upper"
    echo "bounds of the histogram buckets holding them."
    echo
    echo "| scenario | target | requests | mean ms | p50 ≤ s | p99 ≤ s |"
    echo "|---|---|---:|---:|---:|---:|"
    awk -F'\t' '{printf "| %s | %s | %d | %.3f | %s | %s |\n", $1, $2, $3, $4, $5, $6}' "$OVERHEAD_TSV"
    echo
  fi
  if [[ -s $SAMPLES_TSV ]]; then
    echo "## Idle single-request latency (curl, new connection per request, $SAMPLES samples each)"
    echo
    echo "| target | HTTP 200 | median total ms | min total ms | median x-litellm-overhead-duration-ms |"
    echo "|---|---:|---:|---:|---:|"
    for t in "${TARGET_LIST[@]}"; do
      ok=$(awk -F'\t' -v t="$t" '$2 == t && $3 == 200 {n++} END {print n + 0}' "$SAMPLES_TSV")
      tot=$(awk -F'\t' -v t="$t" '$2 == t {print $4 * 1000}' "$SAMPLES_TSV" | median)
      mn=$(awk -F'\t' -v t="$t" '$2 == t {print $4 * 1000}' "$SAMPLES_TSV" | sort -g | head -n1)
      hdr=$(awk -F'\t' -v t="$t" '$2 == t && $5 != "-" {print $5}' "$SAMPLES_TSV" | median)
      printf '| %s | %s/%s | %.3f | %.3f | %s |\n' "$t" "$ok" "$SAMPLES" "$tot" "$mn" "$(or_dash "$hdr")"
    done
    echo
  fi
  echo "Raw wrk output, configs and logs: \`${RAW#"$ROOT"/}/\`"
} | tee "$OUT_MD"

echo "# written: $OUT_MD" >&2
