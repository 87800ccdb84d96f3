// Scripted fake OpenAI-compatible upstream for the Switchyard integration tests.
//
// The behaviour of every request is chosen by the `model` field of its JSON
// body (the gateway rewrites `openai/<name>` to `<name>` before forwarding):
//
//   normal          well-formed reply (chat / completions / embeddings, streaming or not)
//   slow            like normal, but waits SLOW_DELAY_MS (1 s) before answering
//   slowstream      200 SSE, SLOWSTREAM_CHUNKS chunks spaced SLOWSTREAM_INTERVAL_MS apart
//   badrequest      400 + OpenAI-shaped error body
//   contextwindow   400 context_length_exceeded
//   closeafter      like normal (keep-alive), then closes the connection as soon
//                   as the answer is out: a pooled connection the gateway must
//                   not trust blindly
//   the faults of lib/faults.mjs (shared with the Anthropic and Bedrock fakes):
//     ratelimit (429 + `retry-after: 7`), ratelimit-short, error500, error503,
//     reset, reset-mid-body, hang, midstream-drop, garbage, wrong-content-type
//
// Any other model name behaves like `normal`.
//
// Every request is recorded (method, path, headers, raw and parsed body), as
// well as when its response finished and when its connection closed, so
// tests can assert on what the gateway actually forwarded and on the gateway
// closing the upstream connection after a client disconnect.

import http from 'node:http';
import { EventEmitter } from 'node:events';
import { runFault } from './lib/faults.mjs';

export { RATELIMIT_MESSAGE, ERROR500_MESSAGE, GARBAGE_BODY, MIDSTREAM_DROP_PIECES } from './lib/faults.mjs';

export const SLOW_DELAY_MS = 1000;
export const SLOWSTREAM_INTERVAL_MS = 300;
export const SLOWSTREAM_CHUNKS = 20;

// Fixed content so tests can compare exact values after the gateway.
export const CHAT_REPLY_PIECES = ['Hello', ' from', ' the', ' fake', ' upstream', '.'];
export const CHAT_REPLY = CHAT_REPLY_PIECES.join('');
export const COMPLETION_REPLY = 'fake completion text';
export const FAKE_USAGE = Object.freeze({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
// Values that are exact in float32 so a base64 round trip compares equal.
export const FAKE_EMBEDDING = Object.freeze([0.125, -0.5, 0.25, 1, -0.75, 0.0625, 0.5, -1]);
export const BADREQUEST_MESSAGE = 'Fake upstream rejects this request';
export const CONTEXT_WINDOW_MESSAGE = "This model's maximum context length is 8192 tokens";

function errorBody(message, type, code) {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

function chatChunk(id, model, created, delta, finishReason, withUsageField) {
  const chunk = {
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
  if (withUsageField) chunk.usage = null;
  return chunk;
}

function embeddingValue(encodingFormat) {
  if (encodingFormat === 'base64') {
    return Buffer.from(new Float32Array(FAKE_EMBEDDING).buffer).toString('base64');
  }
  return [...FAKE_EMBEDDING];
}

export async function startFakeUpstream() {
  const events = new EventEmitter();
  events.setMaxListeners(100);
  const requests = [];
  const sockets = new Set();
  const timers = new Set();
  let nextSocketId = 1;
  let nextRequestId = 1;

  const later = (ms, fn) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };
  const cancel = (t) => {
    clearTimeout(t);
    timers.delete(t);
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try {
        body = rawBody.length ? JSON.parse(rawBody) : null;
      } catch {
        body = null;
      }
      const record = {
        id: nextRequestId++,
        socketId: req.socket.__fakeId,
        method: req.method,
        path: req.url,
        headers: { ...req.headers },
        rawBody,
        body,
        receivedAt: Date.now(),
        finishedAt: null, // response fully written
        closedAt: null, // response/connection closed (either way)
        aborted: false, // closed before the response was complete
      };
      requests.push(record);
      res.on('finish', () => {
        record.finishedAt = Date.now();
      });
      res.on('close', () => {
        record.closedAt = Date.now();
        record.aborted = record.finishedAt === null;
        events.emit('closed', record);
      });
      events.emit('request', record);
      handle(record, req, res);
    });
  });

  server.on('connection', (socket) => {
    socket.__fakeId = nextSocketId++;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      events.emit('socket-closed', socket.__fakeId);
    });
  });

  function sendJson(res, status, obj, extraHeaders = {}) {
    const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...extraHeaders,
    });
    res.end(text);
  }

  function startSse(res) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    if (res.socket) res.socket.setNoDelay(true);
  }

  const sseData = (res, obj) => res.write(`data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`);

  function route(path) {
    const p = path.split('?')[0];
    if (p.endsWith('/chat/completions')) return 'chat';
    if (p.endsWith('/completions')) return 'completions';
    if (p.endsWith('/embeddings')) return 'embeddings';
    if (p.endsWith('/models')) return 'models';
    return 'unknown';
  }

  function handle(record, req, res) {
    const body = record.body || {};
    const model = typeof body.model === 'string' ? body.model : '';
    const kind = route(record.path);

    if (kind === 'models') {
      return sendJson(res, 200, { object: 'list', data: [{ id: 'normal', object: 'model', created: 0, owned_by: 'fake' }] });
    }
    if (kind === 'unknown') {
      return sendJson(res, 404, errorBody(`Unknown path ${record.path}`, 'invalid_request_error', 'unknown_url'));
    }
    if (record.body === null) {
      return sendJson(res, 400, errorBody('Fake upstream could not parse the JSON body', 'invalid_request_error', null));
    }

    switch (model) {
      case 'slow': {
        later(SLOW_DELAY_MS, () => {
          if (!res.destroyed) normalReply(kind, body, res, model);
        });
        return;
      }
      case 'closeafter': {
        const socket = res.socket;
        res.on('finish', () => setImmediate(() => socket?.destroy()));
        return normalReply(kind, body, res, model);
      }
      case 'badrequest':
        return sendJson(res, 400, errorBody(BADREQUEST_MESSAGE, 'invalid_request_error', 'invalid_value'));
      case 'contextwindow':
        return sendJson(res, 400, errorBody(CONTEXT_WINDOW_MESSAGE, 'invalid_request_error', 'context_length_exceeded'));
      case 'slowstream': {
        startSse(res);
        const id = `chatcmpl-fake-slow-${record.id}`;
        const created = Math.floor(Date.now() / 1000);
        sseData(res, chatChunk(id, model, created, { role: 'assistant', content: '' }, null, false));
        let i = 0;
        let timer = null;
        const tick = () => {
          if (res.destroyed) return;
          if (i < SLOWSTREAM_CHUNKS) {
            sseData(res, chatChunk(id, model, created, { content: `tick${i} ` }, null, false));
            i += 1;
            timer = later(SLOWSTREAM_INTERVAL_MS, tick);
          } else {
            sseData(res, chatChunk(id, model, created, {}, 'stop', false));
            sseData(res, '[DONE]');
            res.end();
          }
        };
        tick();
        res.on('close', () => timer && cancel(timer));
        return;
      }
      default:
        if (runFault(model, { req, res, record, adapter, later })) return;
        return normalReply(kind, body, res, model);
    }
  }

  // How an OpenAI-compatible server shapes what the shared faults send.
  const adapter = {
    errorReply(kind, message, retryAfter) {
      if (kind === 'ratelimit') {
        return {
          status: 429,
          headers: { 'content-type': 'application/json', 'retry-after': retryAfter },
          body: errorBody(message, 'requests', 'rate_limit_exceeded'),
        };
      }
      const status = kind === 'error503' ? 503 : 500;
      return { status, headers: { 'content-type': 'application/json' }, body: errorBody(message, 'server_error', null) };
    },
    okReply(record) {
      const created = Math.floor(Date.now() / 1000);
      const model = record.body?.model ?? '';
      return {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id: 'chatcmpl-fake-1',
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: CHAT_REPLY }, finish_reason: 'stop' }],
          usage: { ...FAKE_USAGE },
        }),
      };
    },
    streamHeaders: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    streamPrefix(record, pieces) {
      const id = `chatcmpl-fake-drop-${record.id}`;
      const model = record.body?.model ?? '';
      const created = Math.floor(Date.now() / 1000);
      const data = (chunk) => `data: ${JSON.stringify(chunk)}\n\n`;
      return [
        data(chatChunk(id, model, created, { role: 'assistant', content: '' }, null, false)),
        ...pieces.map((content) => data(chatChunk(id, model, created, { content }, null, false))),
      ];
    },
  };

  function normalReply(kind, body, res, model) {
    const created = Math.floor(Date.now() / 1000);
    if (kind === 'embeddings') {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return sendJson(res, 200, {
        object: 'list',
        data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: embeddingValue(body.encoding_format) })),
        model,
        usage: { prompt_tokens: 5, total_tokens: 5 },
      });
    }
    if (kind === 'completions') {
      return sendJson(res, 200, {
        id: 'cmpl-fake-1',
        object: 'text_completion',
        created,
        model,
        choices: [{ index: 0, text: COMPLETION_REPLY, logprobs: null, finish_reason: 'stop' }],
        usage: { ...FAKE_USAGE },
      });
    }
    // chat
    const id = 'chatcmpl-fake-1';
    if (body.stream === true) {
      const includeUsage = !!(body.stream_options && body.stream_options.include_usage);
      startSse(res);
      sseData(res, chatChunk(id, model, created, { role: 'assistant', content: '', refusal: null }, null, includeUsage));
      for (const piece of CHAT_REPLY_PIECES) {
        sseData(res, chatChunk(id, model, created, { content: piece }, null, includeUsage));
      }
      sseData(res, chatChunk(id, model, created, {}, 'stop', includeUsage));
      if (includeUsage) {
        sseData(res, {
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          system_fingerprint: 'fp_fake',
          choices: [],
          usage: { ...FAKE_USAGE },
        });
      }
      sseData(res, '[DONE]');
      res.end();
      return;
    }
    return sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      system_fingerprint: 'fp_fake',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: CHAT_REPLY, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { ...FAKE_USAGE },
    });
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address();

  return {
    port,
    /** Value for FAKE_UPSTREAM_BASE. */
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    events,
    /** Requests whose raw body contains `needle` (tests put a unique nonce in each request). */
    find(needle) {
      return requests.filter((r) => r.rawBody.includes(needle));
    },
    /** Resolves with the first recorded request matching `pred` (already seen or future). */
    waitForRequest(pred, timeoutMs = 5000) {
      return waitFor(events, 'request', requests, pred, timeoutMs, 'fake upstream request');
    },
    /** Resolves when the response to `record` has closed (finished or aborted). */
    waitForClose(record, timeoutMs = 5000) {
      if (record.closedAt !== null) return Promise.resolve(record);
      return waitFor(events, 'closed', [], (r) => r === record, timeoutMs, `close of upstream request #${record.id}`);
    },
    openConnections() {
      return sockets.size;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function waitFor(emitter, eventName, existing, pred, timeoutMs, what) {
  const found = existing.find(pred);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const onEvent = (item) => {
      if (pred(item)) {
        clearTimeout(timer);
        emitter.off(eventName, onEvent);
        resolve(item);
      }
    };
    const timer = setTimeout(() => {
      emitter.off(eventName, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on(eventName, onEvent);
  });
}

// Allow running standalone for manual poking: `node tests/integration/fake_upstream.mjs`
if (import.meta.url === `file://${process.argv[1]}`) {
  const fake = await startFakeUpstream();
  process.stderr.write(`fake upstream listening on ${fake.baseUrl}\n`);
  fake.events.on('request', (r) => process.stderr.write(`${r.method} ${r.path} model=${r.body && r.body.model}\n`));
}
