// Proxy behaviour of the Switchyard gateway against the scripted fake upstream.
// Tests in this file run in order and share one gateway + fake upstream.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, MODEL_GROUPS } from './lib/stack.mjs';
import { randomToken, installExitGuard } from './lib/gateway.mjs';
import { request, post, assertOpenAIError, parsePrometheus, sleep } from './lib/http.mjs';
import {
  CHAT_REPLY,
  COMPLETION_REPLY,
  FAKE_USAGE,
  FAKE_EMBEDDING,
  RATELIMIT_MESSAGE,
  ERROR500_MESSAGE,
  SLOW_DELAY_MS,
} from './fake_upstream.mjs';

installExitGuard();

const T = { timeout: 15_000 };
const ACCESS_LOG_KEYS = [
  'request_id',
  'call_id',
  'method',
  'route',
  'model_group',
  'deployment',
  'status',
  'latency_ms',
  'overhead_ms',
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'stream',
];

function assertCommonHeaders(res) {
  assert.equal(typeof res.headers['x-request-id'], 'string', 'x-request-id header missing');
  assert.ok(res.headers['x-request-id'].length > 0, 'x-request-id header empty');
  assert.equal(typeof res.headers['x-litellm-call-id'], 'string', 'x-litellm-call-id header missing');
  assert.ok(res.headers['x-litellm-call-id'].length > 0, 'x-litellm-call-id header empty');
}

function assertDeploymentHeaders(res, group, deploymentId) {
  assertCommonHeaders(res);
  assert.equal(res.headers['x-litellm-model-id'], deploymentId, 'x-litellm-model-id');
  assert.equal(res.headers['x-litellm-model-group'], group, 'x-litellm-model-group');
  const overhead = res.headers['x-litellm-overhead-duration-ms'];
  assert.match(String(overhead), /^\d+(\.\d+)?$/, `x-litellm-overhead-duration-ms must be a decimal number, got ${overhead}`);
  assert.ok(Number(overhead) >= 0 && Number(overhead) < 5000, `implausible overhead ${overhead}`);
}

describe('gateway proxy behaviour', () => {
  let s;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    if (s) await s.close();
  });

  describe('health', () => {
    for (const path of ['/_health/live', '/_health/ready', '/health/liveliness', '/health/readiness']) {
      it(`GET ${path} needs no auth and returns 200`, T, async () => {
        const res = await request(s.baseUrl, { path });
        assert.equal(res.status, 200, res.text);
        assertCommonHeaders(res);
      });
    }
  });

  describe('auth', () => {
    it('missing key -> 401 authentication_error, nothing forwarded', T, async () => {
      const nonce = randomToken('noauth');
      const res = await post(s.baseUrl, '/v1/chat/completions', {
        model: 'fake-normal',
        messages: [{ role: 'user', content: nonce }],
      });
      assertOpenAIError(res, { status: 401, type: 'authentication_error' });
      assertCommonHeaders(res);
      assert.equal(s.fake.find(nonce).length, 0, 'unauthenticated request must not reach the upstream');
    });

    it('wrong bearer key -> 401 authentication_error', T, async () => {
      const nonce = randomToken('badauth');
      const res = await post(
        s.baseUrl,
        '/v1/chat/completions',
        { model: 'fake-normal', messages: [{ role: 'user', content: nonce }] },
        { headers: { authorization: `Bearer ${randomToken('sk-wrong')}` } },
      );
      assertOpenAIError(res, { status: 401, type: 'authentication_error' });
      assert.equal(s.fake.find(nonce).length, 0);
    });

    it('wrong x-api-key -> 401 authentication_error', T, async () => {
      const res = await post(
        s.baseUrl,
        '/v1/chat/completions',
        { model: 'fake-normal', messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-api-key': randomToken('sk-wrong') } },
      );
      assertOpenAIError(res, { status: 401, type: 'authentication_error' });
    });

    it('x-api-key with the master key is accepted', T, async () => {
      const res = await post(
        s.baseUrl,
        '/v1/chat/completions',
        { model: 'fake-normal', messages: [{ role: 'user', content: 'hi via x-api-key' }] },
        { headers: { 'x-api-key': s.masterKey } },
      );
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, CHAT_REPLY);
    });

    it('GET /v1/models without a key -> 401', T, async () => {
      const res = await request(s.baseUrl, { path: '/v1/models' });
      assertOpenAIError(res, { status: 401, type: 'authentication_error' });
    });
  });

  describe('chat completions', () => {
    it('POST /v1/chat/completions is forwarded with model rewritten and upstream key', T, async () => {
      const nonce = randomToken('chat');
      const sent = {
        model: 'fake-normal',
        messages: [
          { role: 'system', content: 'You are a test.' },
          { role: 'user', content: `Say hello ${nonce}` },
        ],
        temperature: 0.25,
        max_tokens: 32,
        user: 'integration-test',
      };
      const res = await s.post('/v1/chat/completions', sent);
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers['content-type'], /application\/json/);
      assert.equal(res.json.object, 'chat.completion');
      assert.equal(res.json.choices.length, 1);
      assert.equal(res.json.choices[0].message.role, 'assistant');
      assert.equal(res.json.choices[0].message.content, CHAT_REPLY);
      assert.equal(res.json.choices[0].finish_reason, 'stop');
      assert.deepEqual(res.json.usage, FAKE_USAGE);
      assertDeploymentHeaders(res, 'fake-normal', 'normal-deployment-1');

      const got = s.fake.find(nonce);
      assert.equal(got.length, 1, 'exactly one upstream request');
      const up = got[0];
      assert.equal(up.method, 'POST');
      assert.equal(up.path, '/v1/chat/completions');
      assert.equal(up.headers.authorization, `Bearer ${s.upstreamKey}`, 'upstream must get the deployment api_key');
      assert.match(String(up.headers['content-type']), /application\/json/);
      assert.deepEqual(up.body, { ...sent, model: 'normal' }, 'body forwarded with only model replaced');
    });

    it('POST /chat/completions (no /v1 prefix) works too', T, async () => {
      const nonce = randomToken('nov1');
      const res = await s.post('/chat/completions', { model: 'fake-normal', messages: [{ role: 'user', content: nonce }] });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, CHAT_REPLY);
      const up = s.fake.find(nonce);
      assert.equal(up.length, 1);
      assert.equal(up[0].path, '/v1/chat/completions');
      assert.equal(up[0].body.model, 'normal');
    });

    it('slow upstream (1 s) within the 2 s timeout -> 200', T, async () => {
      const res = await s.chat('fake-slow', randomToken('slow'));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, CHAT_REPLY);
      assert.ok(res.elapsedMs >= SLOW_DELAY_MS - 50, `answered too early (${res.elapsedMs} ms)`);
      assertDeploymentHeaders(res, 'fake-slow', 'slow-deployment-1');
    });
  });

  describe('request ids', () => {
    it('echoes the client x-request-id and adds a call id', T, async () => {
      const rid = randomToken('rid');
      const res = await s.chat('fake-normal', 'request id echo', {}, { headers: { 'x-request-id': rid } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['x-request-id'], rid);
      assert.ok(res.headers['x-litellm-call-id'].length > 0);
    });

    it('generates a fresh x-request-id when the client sends none', T, async () => {
      const a = await s.chat('fake-normal', 'rid a');
      const b = await s.chat('fake-normal', 'rid b');
      assertCommonHeaders(a);
      assertCommonHeaders(b);
      assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
      assert.notEqual(a.headers['x-litellm-call-id'], b.headers['x-litellm-call-id']);
    });

    it('echoes x-request-id on error responses too', T, async () => {
      const rid = randomToken('rid-err');
      const res = await post(s.baseUrl, '/v1/chat/completions', { model: 'fake-normal', messages: [] }, { headers: { 'x-request-id': rid } });
      assert.equal(res.status, 401);
      assert.equal(res.headers['x-request-id'], rid);
      assertCommonHeaders(res);
    });

    it('writes one access-log JSON line per request with the documented fields', T, async () => {
      const rid = randomToken('rid-log');
      const res = await s.chat('fake-normal', 'access log', {}, { headers: { 'x-request-id': rid } });
      assert.equal(res.status, 200, res.text);
      const entry = await s.gw.waitForAccessLog((o) => o.request_id === rid);
      for (const k of ACCESS_LOG_KEYS) assert.ok(k in entry, `access log entry lacks "${k}": ${JSON.stringify(entry)}`);
      assert.equal(entry.call_id, res.headers['x-litellm-call-id']);
      assert.equal(entry.method, 'POST');
      assert.equal(entry.route, '/v1/chat/completions');
      assert.equal(entry.model_group, 'fake-normal');
      assert.equal(typeof entry.deployment, 'string');
      assert.ok(entry.deployment.length > 0);
      assert.equal(entry.status, 200);
      assert.equal(entry.stream, false);
      assert.equal(typeof entry.latency_ms, 'number');
      assert.equal(typeof entry.overhead_ms, 'number');
      assert.ok(entry.latency_ms >= 0 && entry.overhead_ms >= 0 && entry.overhead_ms <= entry.latency_ms + 1);
      // One overhead definition: the log carries the header's value (3 decimals).
      assert.equal(entry.overhead_ms.toFixed(3), res.headers['x-litellm-overhead-duration-ms']);
      assert.equal(entry.prompt_tokens, FAKE_USAGE.prompt_tokens);
      assert.equal(entry.completion_tokens, FAKE_USAGE.completion_tokens);
      assert.equal(entry.total_tokens, FAKE_USAGE.total_tokens);
      // Exactly one line for this request.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(s.gw.accessLog().filter((o) => o.request_id === rid).length, 1);
    });

    it('logs rejected requests too (401 has an access-log line)', T, async () => {
      const rid = randomToken('rid-401');
      const res = await post(s.baseUrl, '/v1/chat/completions', { model: 'fake-normal', messages: [] }, { headers: { 'x-request-id': rid } });
      assert.equal(res.status, 401);
      const entry = await s.gw.waitForAccessLog((o) => o.request_id === rid);
      assert.equal(entry.status, 401);
      assert.equal(entry.method, 'POST');
    });
  });

  describe('completions and embeddings', () => {
    it('POST /v1/completions is forwarded to <api_base>/completions', T, async () => {
      const nonce = randomToken('cmpl');
      const sent = { model: 'fake-normal', prompt: `Complete ${nonce}`, max_tokens: 5 };
      const res = await s.post('/v1/completions', sent);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.object, 'text_completion');
      assert.equal(res.json.choices[0].text, COMPLETION_REPLY);
      assert.deepEqual(res.json.usage, FAKE_USAGE);
      assertDeploymentHeaders(res, 'fake-normal', 'normal-deployment-1');
      const up = s.fake.find(nonce);
      assert.equal(up.length, 1);
      assert.equal(up[0].path, '/v1/completions');
      assert.equal(up[0].headers.authorization, `Bearer ${s.upstreamKey}`);
      assert.deepEqual(up[0].body, { ...sent, model: 'normal' });
    });

    it('POST /v1/embeddings is forwarded and the vector passed through', T, async () => {
      const nonce = randomToken('emb');
      const res = await s.post('/v1/embeddings', { model: 'fake-normal', input: [`first ${nonce}`, 'second'], encoding_format: 'float' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.object, 'list');
      assert.equal(res.json.data.length, 2);
      assert.equal(res.json.data[0].object, 'embedding');
      assert.equal(res.json.data[1].index, 1);
      assert.deepEqual(res.json.data[0].embedding, [...FAKE_EMBEDDING]);
      assert.deepEqual(res.json.usage, { prompt_tokens: 5, total_tokens: 5 });
      assertDeploymentHeaders(res, 'fake-normal', 'normal-deployment-1');
      const up = s.fake.find(nonce);
      assert.equal(up.length, 1);
      assert.equal(up[0].path, '/v1/embeddings');
      assert.equal(up[0].body.model, 'normal');
      assert.equal(up[0].body.encoding_format, 'float');
    });

    it('embeddings with encoding_format=base64 pass the base64 string through', T, async () => {
      const res = await s.post('/v1/embeddings', { model: 'fake-normal', input: 'b64', encoding_format: 'base64' });
      assert.equal(res.status, 200, res.text);
      const expected = Buffer.from(new Float32Array(FAKE_EMBEDDING).buffer).toString('base64');
      assert.equal(res.json.data[0].embedding, expected);
    });
  });

  describe('mock provider', () => {
    it('mock chat is deterministic and fills usage, without touching the upstream', T, async () => {
      const nonce = randomToken('mock');
      const body = { model: 'mock-gpt', messages: [{ role: 'user', content: `deterministic? ${nonce}` }] };
      const a = await s.post('/v1/chat/completions', body);
      const b = await s.post('/v1/chat/completions', body);
      assert.equal(a.status, 200, a.text);
      assert.equal(b.status, 200, b.text);
      assert.equal(a.json.object, 'chat.completion');
      const ca = a.json.choices[0].message.content;
      assert.equal(typeof ca, 'string');
      assert.ok(ca.length > 0, 'mock reply must not be empty');
      assert.equal(a.json.choices[0].message.role, 'assistant');
      assert.equal(b.json.choices[0].message.content, ca, 'same request -> same content');
      const u = a.json.usage;
      assert.ok(Number.isInteger(u.prompt_tokens) && u.prompt_tokens > 0, JSON.stringify(u));
      assert.ok(Number.isInteger(u.completion_tokens) && u.completion_tokens > 0, JSON.stringify(u));
      assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
      assertDeploymentHeaders(a, 'mock-gpt', 'mock-deployment-1');
      assert.equal(s.fake.find(nonce).length, 0, 'mock must not call the fake upstream');
    });

    it('mock_response sets the reply content exactly', T, async () => {
      const text = `exact mock text ${randomToken('m')} with "quotes" and ünïcödé`;
      const res = await s.chat('mock-gpt', 'ignored', { mock_response: text });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, text);
    });

    it('mock embeddings are deterministic numeric vectors', T, async () => {
      const a = await s.post('/v1/embeddings', { model: 'mock-gpt', input: 'embed me' });
      const b = await s.post('/v1/embeddings', { model: 'mock-gpt', input: 'embed me' });
      assert.equal(a.status, 200, a.text);
      assert.equal(a.json.object, 'list');
      assert.equal(a.json.data.length, 1);
      assert.equal(a.json.data[0].object, 'embedding');
      const v = a.json.data[0].embedding;
      assert.ok(Array.isArray(v) && v.length > 0, `embedding must be a non-empty array: ${a.text.slice(0, 200)}`);
      assert.ok(v.every((x) => typeof x === 'number' && Number.isFinite(x)));
      assert.deepEqual(b.json.data[0].embedding, v);
    });
  });

  describe('models', () => {
    for (const path of ['/v1/models', '/models']) {
      it(`GET ${path} lists every model group`, T, async () => {
        const res = await s.get(path);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.object, 'list');
        assert.ok(Array.isArray(res.json.data));
        for (const m of res.json.data) assert.equal(m.object, 'model');
        assert.deepEqual(res.json.data.map((m) => m.id).sort(), [...MODEL_GROUPS].sort());
      });
    }

    it('GET /v1/models/{id} returns the model', T, async () => {
      const res = await s.get('/v1/models/fake-normal');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.id, 'fake-normal');
      assert.equal(res.json.object, 'model');
    });

    it('GET /v1/models/{unknown} -> 404 OpenAI error', T, async () => {
      const res = await s.get('/v1/models/no-such-model');
      assertOpenAIError(res, { status: 404 });
      assertCommonHeaders(res);
    });
  });

  describe('errors (and the gateway keeps serving after each)', () => {
    it('malformed JSON -> 400 invalid_request_error', T, async () => {
      const res = await s.post('/v1/chat/completions', '{"model": "fake-normal", "messages": [');
      assertOpenAIError(res, { status: 400, type: 'invalid_request_error' });
      assertCommonHeaders(res);
      await s.assertStillServes();
    });

    it('unknown model -> 400 model_not_found listing the available models', T, async () => {
      const nonce = randomToken('unknown');
      const res = await s.chat('no-such-model', nonce);
      const err = assertOpenAIError(res, { status: 400, type: 'invalid_request_error', code: 'model_not_found' });
      for (const g of MODEL_GROUPS) assert.ok(err.message.includes(g), `message should list "${g}": ${err.message}`);
      assert.equal(s.fake.find(nonce).length, 0);
      await s.assertStillServes();
    });

    // 1.5 MB is just over the limit; 6 MB is larger than loopback socket buffers, so the
    // client is still sending when the gateway answers: the 413 must still be readable
    // (the gateway has to drain / close gracefully rather than reset the connection).
    for (const kib of [1536, 6144]) {
      it(`body larger than max_request_size_mb (${kib} KiB) -> 413 request_too_large`, T, async () => {
        const nonce = randomToken('big');
        const big = 'x'.repeat(kib * 1024);
        const res = await s.chat('fake-normal', `${nonce} ${big}`);
        assertOpenAIError(res, { status: 413, code: 'request_too_large' });
        assertCommonHeaders(res);
        assert.equal(s.fake.find(nonce).length, 0, 'oversized request must not reach the upstream');
        await s.assertStillServes();
      });
    }

    it('upstream 429 is passed through with retry-after and the upstream message', T, async () => {
      const res = await s.chat('fake-ratelimit', randomToken('rl'));
      const err = assertOpenAIError(res, { status: 429 });
      assert.equal(res.headers['retry-after'], '7');
      assert.ok(err.message.includes(RATELIMIT_MESSAGE), `upstream message must be kept: ${err.message}`);
      assertDeploymentHeaders(res, 'fake-ratelimit', 'ratelimit-deployment-1');
      await s.assertStillServes();
    });

    it('upstream 500 is passed through with the upstream message', T, async () => {
      const res = await s.chat('fake-error500', randomToken('e500'));
      const err = assertOpenAIError(res, { status: 500 });
      assert.ok(err.message.includes(ERROR500_MESSAGE), `upstream message must be kept: ${err.message}`);
      assertDeploymentHeaders(res, 'fake-error500', 'error500-deployment-1');
      await s.assertStillServes();
    });

    it('upstream resets the connection -> 502 upstream_error', T, async () => {
      const nonce = randomToken('reset');
      const res = await s.chat('fake-reset', nonce);
      assertOpenAIError(res, { status: 502, type: 'upstream_error' });
      assertCommonHeaders(res);
      assert.ok(s.fake.find(nonce).length >= 1, 'the request must have reached the fake upstream');
      await s.assertStillServes();
    });

    it('upstream unreachable (connection refused) -> 502 upstream_error', T, async () => {
      const res = await s.chat('fake-unreachable', randomToken('dead'));
      assertOpenAIError(res, { status: 502, type: 'upstream_error' });
      assertCommonHeaders(res);
      assert.ok(res.elapsedMs < 3000, `connection refused should fail fast, took ${res.elapsedMs} ms`);
      await s.assertStillServes();
    });

    it('upstream 200 with a non-JSON body -> 502 upstream_invalid_response', T, async () => {
      const res = await s.chat('fake-garbage', randomToken('garbage'));
      assertOpenAIError(res, { status: 502, code: 'upstream_invalid_response' });
      assertCommonHeaders(res);
      await s.assertStillServes();
    });

    it('upstream never answers -> 504 timeout_error after the 2 s timeout', T, async () => {
      const nonce = randomToken('hang');
      const res = await s.chat('fake-hang', nonce, {}, { timeoutMs: 10_000 });
      assertOpenAIError(res, { status: 504, type: 'timeout_error', code: 'upstream_timeout' });
      assertCommonHeaders(res);
      assert.ok(res.elapsedMs >= 1800 && res.elapsedMs < 5000, `timeout should fire at ~2 s, took ${res.elapsedMs} ms`);
      const up = s.fake.find(nonce);
      assert.equal(up.length, 1);
      await s.fake.waitForClose(up[0], 2000); // gateway gave up on the upstream connection
      await s.assertStillServes();
    });
  });

  describe('metrics', () => {
    it('GET /metrics exposes the documented Prometheus series after traffic', T, async () => {
      const res = await s.get('/metrics');
      assert.equal(res.status, 200, res.text);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      for (const name of [
        'switchyard_requests_total',
        'switchyard_request_duration_seconds_bucket',
        'switchyard_overhead_duration_seconds_bucket',
        'switchyard_in_flight_requests',
        'switchyard_upstream_errors_total',
      ]) {
        assert.ok(res.text.includes(name), `/metrics lacks ${name}`);
      }
      const samples = parsePrometheus(res.text);
      const sum = (name) => samples.filter((x) => x.name === name).reduce((a, x) => a + x.value, 0);
      assert.ok(sum('switchyard_requests_total') >= 20, `requests_total too low: ${sum('switchyard_requests_total')}`);
      assert.ok(sum('switchyard_upstream_errors_total') >= 1, 'upstream errors happened earlier, counter must be > 0');
      assert.ok(samples.some((x) => x.name === 'switchyard_in_flight_requests'));
      // Nothing is in flight now except (possibly) this /metrics request. The gauge
      // may lag the last response by a moment, so poll briefly before judging.
      let inflightTotal = NaN;
      for (let i = 0; i < 20; i++) {
        const m = i === 0 ? res : await s.get('/metrics');
        inflightTotal = parsePrometheus(m.text)
          .filter((x) => x.name === 'switchyard_in_flight_requests')
          .reduce((a, x) => a + x.value, 0);
        if (inflightTotal <= 1) break;
        await sleep(100);
      }
      assert.ok(inflightTotal >= 0 && inflightTotal <= 1, `in-flight should settle to 0 (or 1 counting /metrics), got ${inflightTotal}`);
      const inf = samples.filter((x) => x.name === 'switchyard_request_duration_seconds_bucket' && x.labels.le === '+Inf');
      assert.ok(inf.length >= 1, 'duration histogram needs a +Inf bucket');
      assert.ok(inf.reduce((a, x) => a + x.value, 0) >= 1);
    });
  });

  describe('logs', () => {
    it('never contain API keys or message content', T, async () => {
      const marker = randomToken('SECRET-MARKER');
      const wrongKey = randomToken('sk-leakcheck');
      const rids = [];
      const rid = () => {
        const r = randomToken('rid-secret');
        rids.push(r);
        return { 'x-request-id': r };
      };
      const msgs = [{ role: 'user', content: `please keep this private: ${marker}` }];
      let r = await s.post('/v1/chat/completions', { model: 'fake-normal', messages: msgs }, { headers: rid() });
      assert.equal(r.status, 200);
      r = await s.post('/v1/chat/completions', { model: 'mock-gpt', messages: msgs }, { headers: rid() });
      assert.equal(r.status, 200);
      r = await s.post('/v1/chat/completions', { model: 'fake-error500', messages: msgs }, { headers: rid() });
      assert.equal(r.status, 500);
      r = await s.post('/v1/chat/completions', { model: 'no-such-model', messages: msgs }, { headers: rid() });
      assert.equal(r.status, 400);
      r = await s.post('/v1/chat/completions', `{"model":"fake-normal","messages":[{"role":"user","content":"${marker}"`, { headers: rid() });
      assert.equal(r.status, 400);
      r = await s.post('/v1/embeddings', { model: 'fake-normal', input: marker }, { headers: rid() });
      assert.equal(r.status, 200);
      r = await post(s.baseUrl, '/v1/chat/completions', { model: 'fake-normal', messages: msgs }, { headers: { authorization: `Bearer ${wrongKey}`, ...rid() } });
      assert.equal(r.status, 401);
      r = await post(s.baseUrl, '/v1/chat/completions', { model: 'fake-normal', messages: msgs }, { headers: { 'x-api-key': wrongKey, ...rid() } });
      assert.equal(r.status, 401);

      for (const id of rids) await s.gw.waitForAccessLog((o) => o.request_id === id);
      const out = s.gw.allOutput();
      assert.ok(!out.includes(marker), 'message content leaked into the logs');
      assert.ok(!out.includes(wrongKey), 'a client-supplied key leaked into the logs');
      assert.ok(!out.includes(s.masterKey), 'the master key leaked into the logs');
      assert.ok(!out.includes(s.upstreamKey), 'the upstream api_key leaked into the logs');
    });

    it('stdout carries only access-log JSON lines with the documented keys', T, async () => {
      assert.ok(s.gw.stdoutLines.length > 0);
      for (const line of s.gw.stdoutLines) {
        if (line.trim() === '') continue;
        let obj;
        assert.doesNotThrow(() => (obj = JSON.parse(line)), `non-JSON stdout line: ${line}`);
        for (const k of ACCESS_LOG_KEYS) assert.ok(k in obj, `access log line lacks "${k}": ${line}`);
      }
      for (const line of s.gw.stderrLines) {
        if (line.trim() === '') continue;
        assert.doesNotThrow(() => JSON.parse(line), `non-JSON stderr line: ${line}`);
      }
    });
  });
});
