// Small HTTP + SSE client helpers built on node:http, with hard timeouts so
// no test can hang on a misbehaving gateway.

import http from 'node:http';
import net from 'node:net';
import assert from 'node:assert/strict';

// No keep-alive: every helper request uses its own connection, so a test's
// outcome never depends on a pooled connection left over from another test.
const agent = new http.Agent({ keepAlive: false });

export const DEFAULT_TIMEOUT_MS = 10_000;

function encodeBody(body) {
  if (body === undefined || body === null) return null;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/**
 * One HTTP request. Resolves with {status, headers, text, json, elapsedMs};
 * json is undefined when the body is not JSON. Rejects on timeout.
 */
export function request(baseUrl, { method = 'GET', path = '/', headers = {}, body, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const url = new URL(path, baseUrl);
  const payload = encodeBody(body);
  const hdrs = { ...headers };
  if (payload) {
    if (!Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-type')) hdrs['content-type'] = 'application/json';
    hdrs['content-length'] = String(payload.length);
  }
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn, v) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(v);
    };
    const req = http.request(url, { method, headers: hdrs, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        finish(resolve, { status: res.statusCode, headers: res.headers, text, json, elapsedMs: Date.now() - started });
      });
      res.on('error', (err) => finish(reject, err));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(reject, new Error(`${method} ${path}: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => finish(reject, err));
    if (payload) req.write(payload);
    req.end();
  });
}

/** JSON POST helper. */
export function post(baseUrl, path, body, { headers = {}, timeoutMs } = {}) {
  return request(baseUrl, { method: 'POST', path, headers, body, timeoutMs });
}

/**
 * Parses an SSE byte stream into events. Each event: {data, json, at}
 * (data is the joined `data:` lines, json its parse or undefined, at = Date.now() on arrival).
 */
export class SseParser {
  constructor(onEvent) {
    this.buf = '';
    this.onEvent = onEvent;
  }
  push(text) {
    this.buf += text.replace(/\r\n/g, '\n');
    let idx;
    while ((idx = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, idx);
      this.buf = this.buf.slice(idx + 2);
      this.emitBlock(block);
    }
  }
  end() {
    if (this.buf.trim().length) this.emitBlock(this.buf);
    this.buf = '';
  }
  emitBlock(block) {
    const dataLines = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('data:')) dataLines.push(line.slice(5).replace(/^ /, ''));
    }
    if (!dataLines.length) return; // comments / keep-alives
    const data = dataLines.join('\n');
    let json;
    try {
      json = JSON.parse(data);
    } catch {
      json = undefined;
    }
    this.onEvent({ data, json, at: Date.now() });
  }
}

/**
 * Open a streaming POST. Resolves once response headers arrive with a handle:
 *   status, headers, events (array, grows), next(timeoutMs) -> event | null at end,
 *   readAll(timeoutMs) -> all events once the stream ends, abort() -> destroy the client socket,
 *   ended (bool), endedAt, rawText.
 * Non-2xx responses are still returned (read rawText after readAll()).
 */
export function openStream(baseUrl, { path = '/v1/chat/completions', headers = {}, body, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const url = new URL(path, baseUrl);
  const payload = encodeBody(body);
  const hdrs = { 'content-type': 'application/json', accept: 'text/event-stream', ...headers, 'content-length': String(payload.length) };
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: hdrs, agent });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`POST ${path}: no response headers within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      const events = [];
      const waiters = new Set();
      const wake = () => {
        for (const w of [...waiters]) w();
      };
      const handle = {
        status: res.statusCode,
        headers: res.headers,
        startedAt: started,
        headersAt: Date.now(),
        events,
        rawText: '',
        ended: false,
        endedAt: null,
        error: null,
        cursor: 0,
        next(ms = DEFAULT_TIMEOUT_MS) {
          return new Promise((res2, rej2) => {
            const check = () => {
              if (handle.cursor < events.length) {
                done();
                res2(events[handle.cursor++]);
              } else if (handle.ended) {
                done();
                res2(null);
              }
            };
            const t = setTimeout(() => {
              waiters.delete(check);
              rej2(new Error(`no SSE event within ${ms} ms (got ${events.length} so far: ${handle.rawText.slice(0, 2000)})`));
            }, ms);
            const done = () => {
              clearTimeout(t);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        async readAll(ms = DEFAULT_TIMEOUT_MS) {
          if (!handle.ended) {
            await new Promise((res2, rej2) => {
              const check = () => {
                if (handle.ended) {
                  clearTimeout(t);
                  waiters.delete(check);
                  res2();
                }
              };
              const t = setTimeout(() => {
                waiters.delete(check);
                req.destroy();
                rej2(new Error(`stream did not end within ${ms} ms (events so far: ${handle.rawText.slice(0, 2000)})`));
              }, ms);
              waiters.add(check);
            });
          }
          return events;
        },
        abort() {
          req.destroy();
          res.destroy();
        },
      };
      const parser = new SseParser((ev) => {
        events.push(ev);
        wake();
      });
      res.setEncoding('utf8');
      res.on('data', (text) => {
        handle.rawText += text;
        parser.push(text);
      });
      const markEnded = (err) => {
        if (handle.ended) return;
        parser.end();
        handle.ended = true;
        handle.endedAt = Date.now();
        if (err) handle.error = err;
        wake();
      };
      res.on('end', () => markEnded(null));
      res.on('error', (err) => markEnded(err));
      res.on('close', () => markEnded(null));
      req.on('error', (err) => markEnded(err));
      resolve(handle);
    });
    req.end(payload);
  });
}

/** Assert the OpenAI error envelope and return the inner error object. */
export function assertOpenAIError(res, { status, type, code } = {}) {
  if (status !== undefined) assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}: ${res.text}`);
  assert.match(String(res.headers['content-type'] || ''), /application\/json/, 'error responses must be JSON');
  assert.ok(res.json && typeof res.json === 'object', `error body must be JSON, got: ${res.text}`);
  const err = res.json.error;
  assert.ok(err && typeof err === 'object', `body must have an "error" object: ${res.text}`);
  assertErrorObject(err);
  if (type !== undefined) assert.equal(err.type, type, `error.type: ${res.text}`);
  if (code !== undefined) assert.equal(err.code, code, `error.code: ${res.text}`);
  return err;
}

/** Shape of the inner error object: message string, type string, param/code string|null. */
export function assertErrorObject(err) {
  assert.equal(typeof err.message, 'string', 'error.message must be a string');
  assert.ok(err.message.length > 0, 'error.message must not be empty');
  assert.equal(typeof err.type, 'string', 'error.type must be a string');
  assert.ok('param' in err, 'error.param must be present');
  assert.ok(err.param === null || typeof err.param === 'string', 'error.param must be string|null');
  assert.ok('code' in err, 'error.code must be present');
  assert.ok(err.code === null || typeof err.code === 'string', 'error.code must be string|null');
}

/** Parse Prometheus text into [{name, labels, value}]. */
export function parsePrometheus(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    }
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return samples;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A loopback TCP port free right now (nothing listens on it until someone binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `pred` until it returns something truthy (returned), or throws after `timeoutMs`. */
export async function waitFor(pred, what, timeoutMs = 10_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}
