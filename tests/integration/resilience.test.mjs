// Retries, fallbacks and cooldowns against the scripted fake upstream.
// Each case asserts what the client sees (status, body, headers) and what the
// upstream received (how many attempts, on which deployment).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { configPath, randomToken, installExitGuard } from './lib/gateway.mjs';
import http from 'node:http';
import { openStream, parsePrometheus, sleep, waitFor } from './lib/http.mjs';
import { CHAT_REPLY, RATELIMIT_MESSAGE, BADREQUEST_MESSAGE, SLOW_DELAY_MS } from './fake_upstream.mjs';

installExitGuard();

const T = { timeout: 15_000 };

describe('resilience', () => {
  let s;
  before(async () => {
    s = await startStack({ config: configPath('resilience.yaml') });
  });
  after(async () => {
    if (s) await s.close();
  });

  const hits = (model, nonce) => s.fake.find(nonce).filter((r) => r.body?.model === model).length;

  it('retries hide a broken deployment, then its cooldown keeps traffic off it', T, async () => {
    const results = [];
    for (let i = 0; i < 12; i++) {
      const nonce = randomToken('mixed');
      const res = await s.chat('mixed', nonce);
      results.push({ res, nonce });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, CHAT_REPLY);
      assert.equal(res.headers['x-litellm-model-id'], 'mixed-healthy');
      // A retry happened exactly when the broken deployment was tried first.
      const broken = hits('error500', nonce);
      assert.equal(Number(res.headers['x-litellm-attempted-retries']), broken);
      assert.equal(hits('normal', nonce), 1);
    }
    // allowed_fails: 1 -> the second failure within the minute starts a 30 s
    // cooldown, so the broken deployment is tried at most twice in total.
    const brokenTotal = s.fake.requests.filter((r) => r.body?.model === 'error500').length;
    assert.ok(brokenTotal >= 0 && brokenTotal <= 2, `broken deployment tried ${brokenTotal} times`);
  });

  it('an upstream that closes its keep-alive connections is re-sent once, fresh, and never seen twice', T, async () => {
    // Back to back, so every request after the first picks the connection the
    // upstream has just closed (the gateway skips its liveness probe for
    // connections idle under a second) and must recover without a retry.
    for (let i = 0; i < 6; i++) {
      const nonce = randomToken('closing');
      const res = await s.chat('closing', nonce);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, CHAT_REPLY);
      assert.equal(res.headers['x-litellm-attempted-retries'], '0');
      assert.equal(hits('closeafter', nonce), 1, `request ${i} reached the upstream once`);
    }
  });

  it('a group that keeps failing falls back to its fallback group', T, async () => {
    const nonce = randomToken('fallback');
    const res = await s.chat('always-500', nonce);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['x-litellm-model-group'], 'healthy');
    assert.equal(res.headers['x-litellm-model-id'], 'healthy-only');
    assert.equal(res.headers['x-litellm-attempted-fallbacks'], '1');
    // 1 + num_retries attempts on the failing group (it is alone, so it is
    // retried until it cools down), then the fallback.
    assert.ok(hits('error503', nonce) >= 1 && hits('error503', nonce) <= 3);
    assert.equal(hits('normal', nonce), 1);
  });

  it('an unreachable upstream is retried and then falls back', T, async () => {
    const nonce = randomToken('dead');
    const res = await s.chat('unreachable', nonce);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['x-litellm-model-group'], 'healthy');
    assert.equal(res.headers['x-litellm-attempted-fallbacks'], '1');
  });

  it('429 passes through with retry-after, then the cooling group answers 429 without calling upstream', T, async () => {
    const nonce = randomToken('limited');
    const first = await s.chat('limited', nonce);
    assert.equal(first.status, 429, first.text);
    assert.equal(first.headers['retry-after'], '7');
    assert.equal(first.json.error.message, RATELIMIT_MESSAGE);
    assert.equal(hits('ratelimit', nonce), 1, '429 cools the deployment at once: no retry on it');

    const nonce2 = randomToken('limited-again');
    const second = await s.chat('limited', nonce2);
    assert.equal(second.status, 429, second.text);
    assert.equal(second.json.error.code, 'no_available_deployment');
    assert.equal(second.json.error.type, 'rate_limit_error');
    const retryAfter = Number(second.headers['retry-after']);
    assert.ok(retryAfter >= 7 && retryAfter <= 31, `retry-after ${retryAfter}`);
    assert.equal(hits('ratelimit', nonce2), 0, 'a cooling deployment must not be called');
  });

  it('a 400 from the upstream is never retried', T, async () => {
    const nonce = randomToken('reject');
    const res = await s.chat('rejecting', nonce);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error.message, BADREQUEST_MESSAGE);
    assert.equal(res.headers['x-litellm-attempted-retries'], '0');
    assert.equal(hits('badrequest', nonce), 1);
    // ...and does not count towards cooldown: the next request still reaches it.
    const again = randomToken('reject-again');
    await s.chat('rejecting', again);
    assert.equal(hits('badrequest', again), 1);
  });

  it('a context-window error uses context_window_fallbacks', T, async () => {
    const nonce = randomToken('ctx');
    const res = await s.chat('small-context', nonce);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['x-litellm-model-group'], 'healthy');
    assert.equal(res.headers['x-litellm-attempted-fallbacks'], '1');
    assert.equal(hits('contextwindow', nonce), 1, 'a 400 is not retried on the same group');
  });

  it('a stream that already reached the client is never retried', T, async () => {
    const nonce = randomToken('drop');
    const stream = await openStream(s.baseUrl, {
      headers: s.auth,
      body: { model: 'dropping-stream', stream: true, messages: [{ role: 'user', content: nonce }] },
    });
    const events = await stream.readAll();
    assert.equal(stream.status, 200);
    const last = events.at(-1);
    assert.ok(last.json?.error, `last event must be an error: ${JSON.stringify(last)}`);
    assert.ok(!events.some((e) => e.data === '[DONE]'));
    assert.equal(hits('midstream-drop', nonce), 1);
  });

  it('per-request num_retries overrides the router setting', T, async () => {
    const nonce = randomToken('noretry');
    // always-500 is cooling down by now or not; either way zero retries means
    // at most one upstream attempt before the fallback.
    const res = await s.chat('always-500', nonce, { num_retries: 0 });
    assert.equal(res.headers['x-litellm-attempted-retries'], '0');
    assert.ok(hits('error503', nonce) <= 1);
    assert.ok(!s.fake.find(nonce).some((r) => 'num_retries' in (r.body ?? {})), 'control field must not reach upstream');
  });

  describe('per-request timeout and stream_timeout', () => {
    // The `slow` upstream answers after SLOW_DELAY_MS (1 s). num_retries: 0
    // keeps each case to one attempt.
    const stream = async (model, nonce, extra) => {
      const st = await openStream(s.baseUrl, {
        headers: s.auth,
        body: { model, stream: true, num_retries: 0, messages: [{ role: 'user', content: nonce }], ...extra },
      });
      const events = await st.readAll();
      return { st, events };
    };

    it('a request timeout shorter than the deployment\'s ends the call early with 504', T, async () => {
      const nonce = randomToken('req-timeout');
      const started = Date.now();
      const res = await s.chat('slow-generous', nonce, { timeout: 0.3, num_retries: 0 });
      const elapsed = Date.now() - started;
      assert.equal(res.status, 504, res.text);
      assert.equal(res.json.error.code, 'upstream_timeout');
      assert.equal(res.json.error.message, 'Upstream request timed out (deployment slow-generous-only)');
      assert.ok(elapsed >= 250 && elapsed < SLOW_DELAY_MS, `answered after ${elapsed} ms`);
      const [up] = s.fake.find(nonce);
      assert.ok(up, 'the request reached the upstream');
      assert.ok(!('timeout' in up.body) && !('stream_timeout' in up.body), 'control fields must not reach upstream');
    });

    it('a request timeout longer than the deployment\'s lets a slow answer through', T, async () => {
      const res = await s.chat('slow-tight', randomToken('req-timeout-long'), { timeout: 3, num_retries: 0 });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.choices[0].message.content, CHAT_REPLY);
      // Without the override the deployment's own 0.5 s applies.
      const tight = await s.chat('slow-tight', randomToken('tight'), { num_retries: 0 });
      assert.equal(tight.status, 504, tight.text);
      assert.equal(tight.json.error.code, 'upstream_timeout');
    });

    it('a request stream_timeout limits the time to the first byte', T, async () => {
      // (Success first: it resets slow-generous's failure count, so the
      // timeout below does not cool the group down.)
      const ok = await stream('slow-generous', randomToken('req-stream-ok'), { stream_timeout: 3 });
      assert.equal(ok.st.status, 200, ok.st.rawText);
      assert.equal(ok.events.at(-1).data, '[DONE]');

      const nonce = randomToken('req-stream-timeout');
      const started = Date.now();
      const { st } = await stream('slow-generous', nonce, { stream_timeout: 0.3 });
      const elapsed = Date.now() - started;
      assert.equal(st.status, 504, st.rawText);
      const body = JSON.parse(st.rawText);
      assert.equal(body.error.code, 'upstream_timeout');
      assert.equal(body.error.message, 'Upstream stream timed out (deployment slow-generous-only)');
      assert.ok(elapsed < SLOW_DELAY_MS, `answered after ${elapsed} ms`);
      assert.ok(!('stream_timeout' in s.fake.find(nonce)[0].body));
    });

    it('an invalid timeout is a 400 naming the field', T, async () => {
      const res = await s.chat('healthy', 'x', { timeout: 'soon' });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error.param, 'timeout');
      assert.equal(res.json.error.code, 'invalid_value');
    });
  });

  it('azure/ deployments use the deployment URL, api-version and the api-key header', T, async () => {
    const nonce = randomToken('azure');
    const res = await s.chat('azure-gpt', nonce);
    assert.equal(res.status, 200, res.text);
    const [req] = s.fake.find(nonce);
    assert.equal(req.path, '/v1/openai/deployments/normal/chat/completions?api-version=2024-10-21');
    assert.equal(req.headers['api-key'], s.upstreamKey);
    assert.equal(req.headers.authorization, undefined);
  });

  it('metrics count retries, fallbacks and cooldowns', T, async () => {
    const res = await s.get('/metrics');
    const metrics = parsePrometheus(res.text);
    const sum = (name, pred = () => true) =>
      metrics.filter((m) => m.name === name && pred(m.labels)).reduce((a, m) => a + m.value, 0);
    assert.ok(sum('switchyard_retries_total') >= 1);
    assert.ok(sum('switchyard_fallbacks_total', (l) => l.from === 'always-500' && l.to === 'healthy') >= 1);
    assert.ok(sum('switchyard_deployment_cooldowns_total', (l) => l.deployment === 'limited-only') >= 1);
    assert.ok(sum('switchyard_no_available_deployment_total', (l) => l.model_group === 'limited') >= 1);
  });
});

describe('a client that hangs up during a retry pause', () => {
  let s;
  before(async () => {
    s = await startStack({ config: configPath('retry_pause.yaml') });
  });
  after(async () => {
    if (s) await s.close();
  });

  it('ends the request at once (499) instead of sleeping out the 3 s pause', T, async () => {
    const nonce = randomToken('pause-hangup');
    const body = JSON.stringify({ model: 'failing', messages: [{ role: 'user', content: nonce }] });
    const req = http.request(new URL('/v1/chat/completions', s.baseUrl), {
      method: 'POST',
      headers: { ...s.auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', () => {}); // the abort below
    req.end(body);
    // The first attempt fails with 500; router_settings.retry_after makes
    // the gateway wait 3 s before the next. Hang up inside that pause.
    await s.fake.waitForRequest((r) => r.rawBody.includes(nonce), 2000);
    await sleep(300);
    const disconnectAt = Date.now();
    req.destroy();
    const line = await waitFor(
      () =>
        s.gw.stdoutLines
          .map((l) => {
            try {
              return JSON.parse(l);
            } catch {
              return null;
            }
          })
          .find((o) => o && o.type === 'access' && o.model_group === 'failing' && o.status === 499),
      'an access-log line with status 499',
      5000,
    );
    const endedAfter = Date.now() - disconnectAt;
    assert.ok(endedAfter < 1500, `the request ended ${endedAfter} ms after the hang-up (the pause is 3 s)`);
    assert.equal(line.error_code, 'client_closed_request');
    assert.equal(s.fake.find(nonce).length, 1, 'no attempt after the hang-up');
  });
});
