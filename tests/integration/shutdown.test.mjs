// Graceful shutdown: on SIGTERM readiness flips to 503 at once, an in-flight
// request still completes, then the process exits with code 0.
//
// The scenario runs once in before(); each property is its own test so a
// failure in one (say readiness) does not hide the others.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { randomToken, installExitGuard } from './lib/gateway.mjs';
import { request, sleep } from './lib/http.mjs';
import { CHAT_REPLY } from './fake_upstream.mjs';

installExitGuard();

const T = { timeout: 5_000 };

async function probe(baseUrl, path) {
  try {
    const r = await request(baseUrl, { path, timeoutMs: 2000 });
    return { status: r.status, text: r.text };
  } catch (err) {
    return { status: null, error: err.code || err.message };
  }
}

describe('graceful shutdown (SIGTERM)', () => {
  let s;
  const seen = {};

  before(async () => {
    s = await startStack();
    seen.readyBefore = await probe(s.baseUrl, '/_health/ready');

    const nonce = randomToken('drain');
    const inflight = s.chat('fake-slow', nonce, {}, { timeoutMs: 10_000 }).then(
      (r) => r,
      (err) => ({ error: err.code || err.message }),
    );
    // Make sure the request really is in flight (reached the upstream) before signalling.
    await s.fake.waitForRequest((r) => r.rawBody.includes(nonce), 3000);

    s.expectExit();
    const signalledAt = Date.now();
    s.gw.kill('SIGTERM');

    // Readiness must turn 503 right away, while the slow (1 s) request is still running.
    for (let i = 0; i < 10; i++) {
      seen.readyAfter = await probe(s.baseUrl, '/_health/ready');
      seen.readyAfterMs = Date.now() - signalledAt;
      if (seen.readyAfter.status === 503) break;
      await sleep(30);
    }
    seen.legacyReadyAfter = await probe(s.baseUrl, '/health/readiness');
    // New work on a connection opened after the signal is refused with 503.
    try {
      const r = await request(s.baseUrl, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${s.masterKey}`, 'content-type': 'application/json' },
        body: { model: 'mock-gpt', messages: [{ role: 'user', content: 'late' }] },
        timeoutMs: 2000,
      });
      seen.workAfter = { status: r.status, json: r.json, connection: r.headers.connection };
    } catch (err) {
      seen.workAfter = { status: null, error: err.code || err.message };
    }

    seen.inflight = await inflight;
    let timer;
    seen.exit = await Promise.race([
      s.gw.exited,
      new Promise((resolve) => {
        timer = setTimeout(resolve, 10_000, 'timeout');
      }),
    ]);
    clearTimeout(timer);
    seen.exitAfterMs = Date.now() - signalledAt;
  }, { timeout: 25_000 });

  after(async () => {
    if (s) await s.close(); // SIGKILLs if the gateway did not exit by itself
  });

  it('is ready before the signal', T, () => {
    assert.equal(seen.readyBefore.status, 200, JSON.stringify(seen.readyBefore));
  });

  it('GET /_health/ready answers 503 right after SIGTERM (listener still accepting)', T, () => {
    assert.equal(seen.readyAfter.status, 503, `readiness after SIGTERM: ${JSON.stringify(seen.readyAfter)}`);
    assert.ok(seen.readyAfterMs < 800, `readiness took ${seen.readyAfterMs} ms to flip`);
  });

  it('GET /health/readiness answers 503 while draining', T, () => {
    assert.equal(seen.legacyReadyAfter.status, 503, JSON.stringify(seen.legacyReadyAfter));
  });

  it('new work on a connection opened while draining gets 503 draining and connection: close', T, () => {
    assert.equal(seen.workAfter.status, 503, JSON.stringify(seen.workAfter));
    assert.equal(seen.workAfter.json?.error?.code, 'draining');
    assert.equal(seen.workAfter.json?.error?.type, 'service_unavailable_error');
    assert.equal(seen.workAfter.connection, 'close');
  });

  it('the in-flight request completes with 200', T, () => {
    assert.equal(seen.inflight.status, 200, `in-flight request: ${JSON.stringify(seen.inflight.error || seen.inflight.text)}`);
    assert.equal(seen.inflight.json.choices[0].message.content, CHAT_REPLY);
  });

  it('the process then exits by itself with code 0', T, () => {
    assert.notEqual(seen.exit, 'timeout', `gateway did not exit within 10 s of SIGTERM${s.gw.dump()}`);
    assert.equal(seen.exit.signal, null, 'gateway should exit by itself, not die of a signal');
    assert.equal(seen.exit.code, 0, `exit code after drain${s.gw.dump()}`);
  });
});
