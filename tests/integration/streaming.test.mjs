// SSE streaming through the gateway: pass-through, [DONE], mid-stream drops,
// client disconnects and the mock provider's streaming.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { randomToken, installExitGuard } from './lib/gateway.mjs';
import http from 'node:http';
import net from 'node:net';
import { openStream, assertErrorObject, assertOpenAIError, parsePrometheus, sleep, waitFor } from './lib/http.mjs';
import { CHAT_REPLY, CHAT_REPLY_PIECES, FAKE_USAGE, MIDSTREAM_DROP_PIECES, SLOWSTREAM_INTERVAL_MS } from './fake_upstream.mjs';

installExitGuard();

const T = { timeout: 20_000 };

function contentOf(events) {
  return events
    .filter((e) => e.json && Array.isArray(e.json.choices))
    .map((e) => e.json.choices.map((c) => (c.delta && c.delta.content) || '').join(''))
    .join('');
}

describe('streaming', () => {
  let s;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    if (s) await s.close();
  });

  const stream = (body, { headers = {}, timeoutMs } = {}) =>
    openStream(s.baseUrl, { path: '/v1/chat/completions', headers: { ...s.auth, ...headers }, body: { stream: true, ...body }, timeoutMs });

  it('passes upstream chunks through and ends with [DONE]', T, async () => {
    const nonce = randomToken('stream');
    const st = await stream({ model: 'fake-normal', messages: [{ role: 'user', content: nonce }] });
    assert.equal(st.status, 200);
    assert.match(String(st.headers['content-type']), /^text\/event-stream/);
    assert.equal(st.headers['x-litellm-model-id'], 'normal-deployment-1');
    assert.equal(st.headers['x-litellm-model-group'], 'fake-normal');
    assert.ok(st.headers['x-request-id'] && st.headers['x-litellm-call-id']);
    assert.match(String(st.headers['x-litellm-overhead-duration-ms']), /^\d+(\.\d+)?$/);
    const events = await st.readAll(10_000);
    assert.equal(events.at(-1).data, '[DONE]', `last event must be [DONE]: ${st.rawText}`);
    assert.equal(events.filter((e) => e.data === '[DONE]').length, 1);
    const chunks = events.slice(0, -1);
    for (const e of chunks) {
      assert.ok(e.json, `non-JSON data event: ${e.data}`);
      assert.equal(e.json.object, 'chat.completion.chunk');
      assert.ok(Array.isArray(e.json.choices));
    }
    // role chunk + one per piece + finish chunk
    assert.equal(chunks.length, CHAT_REPLY_PIECES.length + 2, st.rawText);
    assert.equal(contentOf(chunks), CHAT_REPLY);
    assert.equal(chunks.at(-1).json.choices[0].finish_reason, 'stop');

    const up = s.fake.find(nonce);
    assert.equal(up.length, 1);
    assert.equal(up[0].path, '/v1/chat/completions');
    assert.equal(up[0].body.model, 'normal');
    assert.equal(up[0].body.stream, true);
    assert.equal(up[0].headers.authorization, `Bearer ${s.upstreamKey}`);
  });

  it('stream_options.include_usage is passed through; usage arrives on the final chunk', T, async () => {
    const nonce = randomToken('usage');
    const st = await stream({
      model: 'fake-normal',
      messages: [{ role: 'user', content: nonce }],
      stream_options: { include_usage: true },
    });
    assert.equal(st.status, 200);
    const events = await st.readAll(10_000);
    assert.equal(events.at(-1).data, '[DONE]');
    const last = events.at(-2).json;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, FAKE_USAGE);
    assert.equal(contentOf(events), CHAT_REPLY);
    const up = s.fake.find(nonce);
    assert.equal(up.length, 1);
    assert.deepEqual(up[0].body.stream_options, { include_usage: true });
  });

  it('streaming access-log line has stream=true', T, async () => {
    const rid = randomToken('rid-stream');
    const st = await stream(
      { model: 'fake-normal', messages: [{ role: 'user', content: 'log me' }], stream_options: { include_usage: true } },
      { headers: { 'x-request-id': rid } },
    );
    assert.equal(st.headers['x-request-id'], rid);
    await st.readAll(10_000);
    const entry = await s.gw.waitForAccessLog((o) => o.request_id === rid);
    assert.equal(entry.stream, true);
    assert.equal(entry.status, 200);
    assert.equal(entry.model_group, 'fake-normal');
  });

  it('chunks are forwarded as they arrive, not buffered', T, async () => {
    const nonce = randomToken('incremental');
    const st = await stream({ model: 'fake-slowstream', messages: [{ role: 'user', content: nonce }] }, { timeoutMs: 5000 });
    try {
      assert.equal(st.status, 200);
      const arrivals = [];
      // role chunk + 3 content chunks: the upstream spaces them 300 ms apart.
      for (let i = 0; i < 4; i++) {
        const ev = await st.next(3000);
        assert.ok(ev, 'stream ended early');
        assert.equal(ev.json.object, 'chat.completion.chunk');
        arrivals.push(ev.at);
      }
      assert.ok(arrivals[0] - st.startedAt < 1500, `first chunk took ${arrivals[0] - st.startedAt} ms`);
      const spread = arrivals[3] - arrivals[1];
      assert.ok(
        spread >= SLOWSTREAM_INTERVAL_MS,
        `chunks should arrive ~${SLOWSTREAM_INTERVAL_MS} ms apart; 2nd..4th arrived within ${spread} ms (buffered?)`,
      );
    } finally {
      st.abort();
    }
  });

  it('client disconnect while a non-streaming answer is pending closes the upstream connection and logs 499', T, async () => {
    const nonce = randomToken('hangup');
    const body = JSON.stringify({ model: 'fake-slow', messages: [{ role: 'user', content: nonce }] });
    const url = new URL('/v1/chat/completions', s.baseUrl);
    const req = http.request(url, {
      method: 'POST',
      headers: { ...s.auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', () => {}); // the abort below
    req.end(body);
    // The fake answers `slow` after 1 s; hang up while the gateway waits.
    const up = await s.fake.waitForRequest((r) => r.rawBody.includes(nonce), 2000);
    const disconnectAt = Date.now();
    req.destroy();
    await s.fake.waitForClose(up, 1500);
    assert.equal(up.aborted, true, 'upstream answer should have been cut short, not completed');
    assert.ok(up.closedAt - disconnectAt <= 500, `upstream saw the close ${up.closedAt - disconnectAt} ms after the disconnect`);
    const line = await waitFor(
      () => s.gw.stdoutLines.map((l) => { try { return JSON.parse(l); } catch { return null; } })
        .find((o) => o && o.type === 'access' && o.model_group === 'fake-slow' && o.status === 499),
      'an access-log line with status 499',
      3000,
    );
    assert.equal(line.error_code, 'client_closed_request');
    // Still serving.
    const after = await s.chat('fake-normal', randomToken('after-hangup'));
    assert.equal(after.status, 200, after.text);
  });

  it('a hang-up that comes before the gateway starts waiting on the upstream is still seen', T, async () => {
    // The gateway starts watching the client only when it has to wait (an
    // upstream read that blocks); a FIN that arrived earlier must still count.
    const nonce = randomToken('early-hangup');
    const body = JSON.stringify({ model: 'fake-slow', messages: [{ role: 'user', content: nonce }] });
    const url = new URL(s.baseUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    socket.on('error', () => {});
    // Request and FIN leave together: the client is gone before the gateway
    // has even read the request.
    socket.once('connect', () => socket.end(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${s.auth.authorization}\r\n` +
      `x-request-id: ${nonce}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`));
    const line = await waitFor(
      () => s.gw.stdoutLines.map((l) => { try { return JSON.parse(l); } catch { return null; } })
        .find((o) => o && o.type === 'access' && o.request_id === nonce),
      'the access-log line of the request',
      3000,
    );
    // Missed, the gateway would wait out the fake's 1 s and log a 200.
    assert.equal(line.status, 499);
    assert.equal(line.error_code, 'client_closed_request');
    assert.ok(line.latency_ms < 500, `the request took ${line.latency_ms} ms`);
    // Depending on when the hang-up is noticed (connecting, or waiting for
    // the answer on a pooled connection), the upstream saw no request or one
    // that was cut short.
    for (const up of s.fake.find(nonce)) {
      await s.fake.waitForClose(up, 1500);
      assert.equal(up.aborted, true, 'upstream answer should have been cut short, not completed');
    }
    socket.destroy();
  });

  it('client disconnect mid-stream closes the upstream connection within ~1 s', T, async () => {
    const nonce = randomToken('disconnect');
    const st = await stream({ model: 'fake-slowstream', messages: [{ role: 'user', content: nonce }] }, { timeoutMs: 5000 });
    assert.equal(st.status, 200);
    const first = await st.next(3000);
    const second = await st.next(3000);
    assert.ok(first && second, 'expected two chunks before disconnecting');
    const up = await s.fake.waitForRequest((r) => r.rawBody.includes(nonce), 2000);
    assert.equal(up.closedAt, null, 'upstream stream should still be running before the disconnect');
    const disconnectAt = Date.now();
    st.abort();
    await s.fake.waitForClose(up, 1500);
    assert.equal(up.aborted, true, 'upstream response should have been cut short, not completed');
    assert.ok(up.closedAt - disconnectAt <= 1200, `upstream saw the close ${up.closedAt - disconnectAt} ms after the disconnect`);

    // The gateway forgets the request: in-flight goes back to zero and it still serves.
    let inflight = NaN;
    for (let i = 0; i < 20; i++) {
      const m = await s.get('/metrics');
      inflight = parsePrometheus(m.text)
        .filter((x) => x.name === 'switchyard_in_flight_requests')
        .reduce((a, x) => a + x.value, 0);
      if (inflight <= 1) break; // the /metrics request itself may count
      await sleep(100);
    }
    assert.ok(inflight <= 1, `in-flight requests should drop back after a disconnect, got ${inflight}`);
    await s.assertStillServes();
  });

  it('upstream dropping mid-stream yields a final error event and closes (no [DONE])', T, async () => {
    const st = await stream({ model: 'fake-midstream-drop', messages: [{ role: 'user', content: randomToken('drop') }] });
    assert.equal(st.status, 200);
    const events = await st.readAll(8000);
    assert.ok(events.length >= 1, st.rawText);
    assert.ok(!events.some((e) => e.data === '[DONE]'), `a broken stream must not end with [DONE]: ${st.rawText}`);
    const last = events.at(-1);
    assert.ok(last.json && last.json.error, `last event must be an error event: ${st.rawText}`);
    assertErrorObject(last.json.error);
    // Chunks that did arrive before the drop were forwarded.
    assert.equal(contentOf(events.slice(0, -1)), MIDSTREAM_DROP_PIECES.join(''), st.rawText);
    await s.assertStillServes();
  });

  it('upstream 429 on a streaming request is returned as a 429 JSON error', T, async () => {
    const st = await stream({ model: 'fake-ratelimit', messages: [{ role: 'user', content: 'rl' }] });
    await st.readAll(8000);
    let json;
    try {
      json = JSON.parse(st.rawText);
    } catch {
      json = undefined;
    }
    assertOpenAIError({ status: st.status, headers: st.headers, text: st.rawText, json }, { status: 429 });
    assert.equal(st.headers['retry-after'], '7');
    await s.assertStillServes();
  });

  it('streaming request to a silent upstream -> 504 after stream_timeout', T, async () => {
    const st = await stream({ model: 'fake-hang', messages: [{ role: 'user', content: randomToken('hang') }] }, { timeoutMs: 10_000 });
    await st.readAll(10_000);
    let json;
    try {
      json = JSON.parse(st.rawText);
    } catch {
      json = undefined;
    }
    assertOpenAIError({ status: st.status, headers: st.headers, text: st.rawText, json }, { status: 504, type: 'timeout_error', code: 'upstream_timeout' });
    const elapsed = st.endedAt - st.startedAt;
    assert.ok(elapsed >= 1800 && elapsed < 5000, `stream_timeout should fire at ~2 s, took ${elapsed} ms`);
    await s.assertStillServes();
  });

  describe('mock provider', () => {
    it('streams the same deterministic content in several chunks, ending with [DONE]', T, async () => {
      const messages = [{ role: 'user', content: 'stream the mock please' }];
      const plain = await s.post('/v1/chat/completions', { model: 'mock-gpt', messages });
      assert.equal(plain.status, 200, plain.text);
      const expected = plain.json.choices[0].message.content;

      const st = await stream({ model: 'mock-gpt', messages });
      assert.equal(st.status, 200);
      assert.match(String(st.headers['content-type']), /^text\/event-stream/);
      const events = await st.readAll(10_000);
      assert.equal(events.at(-1).data, '[DONE]', st.rawText);
      const chunks = events.slice(0, -1);
      for (const e of chunks) assert.equal(e.json && e.json.object, 'chat.completion.chunk', e.data);
      const contentChunks = chunks.filter((e) => e.json.choices.some((c) => c.delta && c.delta.content));
      assert.ok(contentChunks.length >= 2, `expected the mock reply in several chunks, got ${contentChunks.length}`);
      assert.equal(contentOf(chunks), expected, 'streamed mock content must equal the non-streamed content');
    });

    it('mock_response is streamed verbatim; include_usage adds a usage chunk', T, async () => {
      const text = `streamed mock response ${randomToken('ms')}`;
      const st = await stream({
        model: 'mock-gpt',
        messages: [{ role: 'user', content: 'x' }],
        mock_response: text,
        stream_options: { include_usage: true },
      });
      assert.equal(st.status, 200);
      const events = await st.readAll(10_000);
      assert.equal(events.at(-1).data, '[DONE]', st.rawText);
      assert.equal(contentOf(events), text);
      const usageChunk = events.at(-2).json;
      assert.ok(usageChunk.usage, `final chunk must carry usage: ${events.at(-2).data}`);
      assert.deepEqual(usageChunk.choices, []);
      assert.ok(usageChunk.usage.completion_tokens > 0);
      assert.equal(usageChunk.usage.total_tokens, usageChunk.usage.prompt_tokens + usageChunk.usage.completion_tokens);
    });
  });
});
