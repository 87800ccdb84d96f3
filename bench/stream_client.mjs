#!/usr/bin/env node
// bench/stream_client.mjs — streaming load client for bench/run.sh, scenario (c).
//
// Keeps --conns keep-alive connections, each sending stream=true chat
// completions back to back for --duration seconds, and times every request:
//
//   ttfb   request written -> first complete SSE event ("data: ...\n\n") read
//   total  request written -> end of the response body (last chunk / length)
//
// and checks every response: HTTP 200, text/event-stream, every `data:` line
// but the last is JSON, the content deltas concatenate to exactly
// "tok0 tok1 ... tok<N-1> " (N = --chunks, what the mock sends), one event has
// finish_reason "stop", and the stream ends with exactly one "data: [DONE]"
// with nothing after it. A response failing any check counts as `bad` (first
// few reasons are printed to stderr); a connection error or timeout as `errors`.
//
// A plain HTTP/1.1 client over `net` (no Agent, no undici) so the client's own
// cost is small and the same for every target. Prints one line:
//   STREAM_SUMMARY requests=.. ok=.. bad=.. errors=.. events=.. ttfb_p50_us=.. ...
// and with --samples FILE writes "ttfb_us total_us" per good request.

import net from 'node:net';
import fs from 'node:fs';

function usage(code) {
  process.stderr.write(`usage: stream_client.mjs --url http://127.0.0.1:PORT [--conns N] [--duration S]
    [--chunks N] [--model M] [--auth "Bearer ..."] [--header "name: value"]... [--samples FILE]
    [--timeout-ms MS]\n`);
  process.exit(code);
}

const opt = { conns: 1, duration: 10, chunks: 8, model: 'bench-model', auth: 'Bearer sk-bench-master', headers: [],
  samples: '', timeoutMs: 10000, url: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const v = () => { if (i + 1 >= argv.length) usage(2); return argv[++i]; };
  if (a === '--url') opt.url = v();
  else if (a === '--conns') opt.conns = Number(v());
  else if (a === '--duration') opt.duration = Number(v());
  else if (a === '--chunks') opt.chunks = Number(v());
  else if (a === '--model') opt.model = v();
  else if (a === '--auth') opt.auth = v();
  else if (a === '--header') opt.headers.push(v());
  else if (a === '--samples') opt.samples = v();
  else if (a === '--timeout-ms') opt.timeoutMs = Number(v());
  else if (a === '-h' || a === '--help') usage(0);
  else usage(2);
}
if (!opt.url) usage(2);
const url = new URL(opt.url);
const host = url.hostname;
const port = Number(url.port || 80);

const body = JSON.stringify({
  model: opt.model,
  messages: [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'Reply with one short sentence about load testing.' },
  ],
  max_tokens: 64,
  temperature: 0,
  stream: true,
});
const extra = opt.headers.map((h) => `${h}\r\n`).join('');
const request = Buffer.from(
  `POST /v1/chat/completions HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
  `Authorization: ${opt.auth}\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
let expectedText = '';
for (let i = 0; i < opt.chunks; i++) expectedText += `tok${i} `;

const stats = { requests: 0, ok: 0, bad: 0, errors: 0, events: 0 };
const ttfb = [];
const total = [];
const reasons = new Map();
function fail(kind, reason) {
  stats[kind]++;
  reasons.set(reason, (reasons.get(reason) || 0) + 1);
}

// Checks the SSE text of one response; returns '' when intact, else why not.
function checkEvents(events) {
  let text = '';
  let stop = false;
  let done = 0;
  for (let i = 0; i < events.length; i++) {
    const data = events[i];
    if (data === '[DONE]') {
      done++;
      if (i !== events.length - 1) return 'events after [DONE]';
      continue;
    }
    let obj;
    try { obj = JSON.parse(data); } catch { return 'data line is not JSON'; }
    if (obj.error) return 'error event in stream';
    for (const c of obj.choices || []) {
      if (c.delta && typeof c.delta.content === 'string') text += c.delta.content;
      if (c.finish_reason === 'stop') stop = true;
    }
  }
  if (done !== 1) return done === 0 ? 'no [DONE]' : 'more than one [DONE]';
  if (!stop) return 'no finish_reason stop';
  if (text !== expectedText) return 'content deltas differ from what the upstream sent';
  return '';
}

// Splits SSE text into the payloads of its `data:` fields, one per event.
function parseSse(text) {
  const out = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/).filter((l) => l.startsWith('data:'));
    if (lines.length === 0) continue;
    out.push(lines.map((l) => l.slice(5).replace(/^ /, '')).join('\n'));
  }
  return out;
}

const deadline = performance.now() + opt.duration * 1000;

// One connection worker: sequential requests until the deadline.
function worker() {
  return new Promise((resolveWorker) => {
    let sock = null;
    let buf = Buffer.alloc(0);
    let cur = null;  // state of the request in flight
    let timer = null;

    const connect = () => {
      buf = Buffer.alloc(0);
      const s = net.createConnection({ host, port });
      sock = s;
      s.setNoDelay(true);
      s.on('connect', () => send());
      s.on('data', (d) => {
        if (s !== sock) return;
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        if (cur) progress();
      });
      s.on('error', () => {});
      s.on('close', () => {
        if (s !== sock) return;  // a socket this worker already replaced
        if (cur) {
          if (cur.closeDelimited && cur.head) finish(true);
          else { fail('errors', 'connection closed mid-response'); abort(); }
        }
      });
    };
    const abort = () => {
      clearTimeout(timer);
      cur = null;
      if (sock) { sock.destroy(); sock = null; }
      next(true);
    };
    const next = (reconnect) => {
      if (performance.now() >= deadline) { if (sock) sock.destroy(); resolveWorker(); return; }
      if (reconnect || !sock) connect(); else send();
    };
    const send = () => {
      cur = { t0: performance.now(), head: null, sse: '', firstEvent: 0, chunked: false, remaining: -1,
        closeDelimited: false, keepAlive: true };
      timer = setTimeout(() => { fail('errors', 'timeout'); abort(); }, opt.timeoutMs);
      stats.requests++;
      sock.write(request);
    };
    const addBody = (bytes) => {
      cur.sse += bytes.toString('utf8');
      if (!cur.firstEvent && /data:[^\n]*\r?\n\r?\n/.test(cur.sse)) cur.firstEvent = performance.now();
    };
    const finish = (viaClose) => {
      clearTimeout(timer);
      const r = cur;
      cur = null;
      const end = performance.now();
      const events = parseSse(r.sse);
      stats.events += events.length;
      let why = '';
      if (r.head.status !== 200) why = `HTTP ${r.head.status}`;
      else if (!/text\/event-stream/i.test(r.head.contentType)) why = 'content-type is not text/event-stream';
      else why = checkEvents(events);
      if (why) fail('bad', why);
      else {
        stats.ok++;
        ttfb.push((r.firstEvent - r.t0) * 1000);
        total.push((end - r.t0) * 1000);
      }
      next(viaClose || !r.keepAlive);
    };
    // Consumes as much of `buf` as possible for the request in flight.
    const progress = () => {
      const r = cur;
      if (!r.head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        buf = buf.subarray(end + 4);
        const status = Number(lines[0].split(' ')[1]);
        const h = {};
        for (const l of lines.slice(1)) {
          const c = l.indexOf(':');
          if (c > 0) h[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
        }
        r.head = { status, contentType: h['content-type'] || '' };
        r.keepAlive = !/close/i.test(h.connection || '');
        if (/chunked/i.test(h['transfer-encoding'] || '')) r.chunked = true;
        else if (h['content-length'] !== undefined) r.remaining = Number(h['content-length']);
        else r.closeDelimited = true;
      }
      if (r.chunked) {
        for (;;) {
          const eol = buf.indexOf('\r\n');
          if (eol < 0) return;
          const size = parseInt(buf.subarray(0, eol).toString('latin1').split(';')[0], 16);
          if (Number.isNaN(size)) { fail('bad', 'bad chunk framing'); abort(); return; }
          if (size === 0) {
            // No trailers expected: "0\r\n\r\n".
            if (buf.length < eol + 4) return;
            buf = buf.subarray(eol + 4);
            finish(false);
            return;
          }
          if (buf.length < eol + 2 + size + 2) return;
          addBody(buf.subarray(eol + 2, eol + 2 + size));
          buf = buf.subarray(eol + 2 + size + 2);
        }
      } else if (r.remaining >= 0) {
        const take = Math.min(r.remaining, buf.length);
        addBody(buf.subarray(0, take));
        buf = buf.subarray(take);
        r.remaining -= take;
        if (r.remaining === 0) finish(false);
      } else {
        addBody(buf);
        buf = Buffer.alloc(0);
      }
    };
    next(true);
  });
}

function pct(arr, p) {
  if (arr.length === 0) return 0;
  const s = Float64Array.from(arr).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

await Promise.all(Array.from({ length: opt.conns }, () => worker()));
if (opt.samples) fs.writeFileSync(opt.samples, ttfb.map((t, i) => `${t.toFixed(1)} ${total[i].toFixed(1)}`).join('\n') + '\n');
for (const [why, n] of reasons) process.stderr.write(`stream_client: ${n} x ${why}\n`);
const f = (x) => Math.round(x);
process.stdout.write(`STREAM_SUMMARY requests=${stats.requests} ok=${stats.ok} bad=${stats.bad} errors=${stats.errors} ` +
  `events=${stats.events} ttfb_p50_us=${f(pct(ttfb, 50))} ttfb_p99_us=${f(pct(ttfb, 99))} ` +
  `total_p50_us=${f(pct(total, 50))} total_p99_us=${f(pct(total, 99))} duration_s=${opt.duration}\n`);
