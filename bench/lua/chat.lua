-- wrk script for bench/run.sh: POST an OpenAI-style chat completion request
-- (~200 B body) with the gateway master key, and print a machine-readable
-- summary that run.sh parses.
--
-- Environment (all optional):
--   BENCH_AUTH    value for the Authorization header (default "Bearer sk-bench-master")
--   BENCH_MODEL   model name (default "bench-model")
--   BENCH_STREAM  "1" to ask for stream=true
--   BENCH_BODY_BYTES  pad the user message so the body is exactly this many
--                 bytes (scenario d: 200, 10240, 51200); unset = the ~200 B body
--   BENCH_HEADERS extra request headers, "Name: value" separated by newlines
--                 (the portkey target: x-portkey-provider, x-portkey-custom-host)
--
-- No response() callback on purpose: defining one makes wrk hand every
-- response to Lua, which costs client CPU on a box where the client shares a
-- core with the mock upstream. wrk itself counts statuses >= 400
-- (errors.status) and socket errors; run.sh checks each target with curl for
-- a 200 before loading it.

local auth = os.getenv("BENCH_AUTH") or "Bearer sk-bench-master"
local model = os.getenv("BENCH_MODEL") or "bench-model"
local stream = os.getenv("BENCH_STREAM") == "1"

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = auth
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

local function make_body(pad)
  return '{"model":"' .. model .. '","messages":['
    .. '{"role":"system","content":"You are a terse assistant."},'
    .. '{"role":"user","content":"Reply with one short sentence about load testing.' .. pad .. '"}],'
    .. '"max_tokens":64,"temperature":0' .. (stream and ',"stream":true' or '') .. '}'
end

wrk.body = make_body("")
local want = tonumber(os.getenv("BENCH_BODY_BYTES") or "")
if want and want > #wrk.body then
  local need = want - #wrk.body
  local filler = " The quick brown fox jumps over the lazy dog while the proxy copies bytes."
  local pad = string.rep(filler, math.ceil(need / #filler)):sub(1, need)
  wrk.body = make_body(pad)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_SUMMARY requests=%d duration_us=%d bytes=%d non2xx=%d connect_err=%d read_err=%d write_err=%d timeout_err=%d\n",
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout))
  io.write(string.format("BENCH_LATENCY_US p50=%d p90=%d p99=%d max=%d mean=%.1f\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
