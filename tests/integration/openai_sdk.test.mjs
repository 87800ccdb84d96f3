// Client conformance: the official `openai` npm client pointed at the gateway.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, MODEL_GROUPS } from './lib/stack.mjs';
import { randomToken, installExitGuard } from './lib/gateway.mjs';
import { CHAT_REPLY, COMPLETION_REPLY, FAKE_USAGE, FAKE_EMBEDDING, RATELIMIT_MESSAGE } from './fake_upstream.mjs';

installExitGuard();

const T = { timeout: 15_000 };

describe('openai SDK against the gateway', () => {
  let s;
  let client;
  const makeClient = (apiKey) => new OpenAI({ apiKey, baseURL: `${s.baseUrl}/v1`, maxRetries: 0, timeout: 10_000 });

  before(async () => {
    s = await startStack();
    client = makeClient(s.masterKey);
  });
  after(async () => {
    if (s) await s.close();
  });

  it('chat.completions.create (non-streaming)', T, async () => {
    const nonce = randomToken('sdk-chat');
    const { data, response } = await client.chat.completions
      .create({ model: 'fake-normal', messages: [{ role: 'user', content: nonce }] })
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0].message.content, CHAT_REPLY);
    assert.deepEqual(data.usage, FAKE_USAGE);
    assert.equal(response.headers.get('x-litellm-model-group'), 'fake-normal');
    assert.equal(response.headers.get('x-litellm-model-id'), 'normal-deployment-1');
    const up = s.fake.find(nonce);
    assert.equal(up.length, 1);
    assert.equal(up[0].headers.authorization, `Bearer ${s.upstreamKey}`);
    assert.equal(up[0].body.model, 'normal');
  });

  it('chat.completions.create streaming with include_usage: usage on the final chunk', T, async () => {
    const stream = await client.chat.completions.create({
      model: 'fake-normal',
      messages: [{ role: 'user', content: randomToken('sdk-stream') }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 3, `got ${chunks.length} chunks`);
    for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
    const text = chunks.map((c) => c.choices.map((ch) => ch.delta?.content ?? '').join('')).join('');
    assert.equal(text, CHAT_REPLY);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, FAKE_USAGE);
    for (const c of chunks.slice(0, -1)) assert.ok(c.usage == null, 'only the final chunk carries usage');
  });

  it('chat streaming from the mock provider', T, async () => {
    const stream = await client.chat.completions.create({
      model: 'mock-gpt',
      messages: [{ role: 'user', content: 'hello mock' }],
      stream: true,
      mock_response: 'sdk mock stream text',
    });
    let text = '';
    let n = 0;
    for await (const chunk of stream) {
      n += 1;
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(text, 'sdk mock stream text');
    assert.ok(n >= 2);
  });

  it('completions.create (legacy)', T, async () => {
    const res = await client.completions.create({ model: 'fake-normal', prompt: 'Say something', max_tokens: 5 });
    assert.equal(res.object, 'text_completion');
    assert.equal(res.choices[0].text, COMPLETION_REPLY);
  });

  it('embeddings.create with the SDK default (base64) encoding via the fake upstream', T, async () => {
    const nonce = randomToken('sdk-emb');
    const res = await client.embeddings.create({ model: 'fake-normal', input: nonce });
    assert.equal(res.object, 'list');
    assert.equal(res.data.length, 1);
    assert.deepEqual(res.data[0].embedding, [...FAKE_EMBEDDING]);
    const up = s.fake.find(nonce);
    assert.equal(up.length, 1);
    assert.equal(up[0].path, '/v1/embeddings');
    assert.equal(up[0].body.encoding_format, 'base64', 'the SDK default encoding_format must be forwarded');
  });

  it('embeddings.create on the mock provider (SDK default base64 and explicit float agree)', T, async () => {
    const b64 = await client.embeddings.create({ model: 'mock-gpt', input: 'mock vector' });
    const flt = await client.embeddings.create({ model: 'mock-gpt', input: 'mock vector', encoding_format: 'float' });
    const a = b64.data[0].embedding;
    const f = flt.data[0].embedding;
    assert.ok(Array.isArray(f) && f.length > 0);
    assert.equal(a.length, f.length, 'base64 vector must decode to as many float32 values as the float vector');
    for (let i = 0; i < f.length; i++) {
      assert.ok(Math.abs(a[i] - f[i]) <= 1e-6 * Math.max(1, Math.abs(f[i])), `component ${i}: ${a[i]} vs ${f[i]}`);
    }
  });

  it('models.list returns every model group', T, async () => {
    const ids = [];
    for await (const m of client.models.list()) {
      assert.equal(m.object, 'model');
      ids.push(m.id);
    }
    assert.deepEqual(ids.sort(), [...MODEL_GROUPS].sort());
  });

  it('models.retrieve: known id and NotFoundError for unknown', T, async () => {
    const m = await client.models.retrieve('mock-gpt');
    assert.equal(m.id, 'mock-gpt');
    await assert.rejects(client.models.retrieve('no-such-model'), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `expected NotFoundError, got ${err && err.constructor.name}: ${err}`);
      assert.equal(err.status, 404);
      return true;
    });
  });

  it('a wrong key surfaces as AuthenticationError (401)', T, async () => {
    const bad = makeClient(randomToken('sk-wrong'));
    await assert.rejects(bad.chat.completions.create({ model: 'fake-normal', messages: [{ role: 'user', content: 'x' }] }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `expected AuthenticationError, got ${err && err.constructor.name}: ${err}`);
      assert.equal(err.status, 401);
      assert.equal(err.type, 'authentication_error');
      assert.ok(err.headers.get('x-request-id'));
      return true;
    });
  });

  it('an unknown model surfaces as BadRequestError (400, model_not_found)', T, async () => {
    await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `expected BadRequestError, got ${err && err.constructor.name}: ${err}`);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.type, 'invalid_request_error');
      assert.ok(err.message.includes('fake-normal'), err.message);
      return true;
    });
  });

  it('an oversized request surfaces as APIError 413 (not a connection error)', T, async () => {
    const big = 'y'.repeat(2 * 1024 * 1024);
    await assert.rejects(client.chat.completions.create({ model: 'fake-normal', messages: [{ role: 'user', content: big }] }), (err) => {
      assert.ok(err instanceof OpenAI.APIError, `expected APIError, got ${err && err.constructor.name}: ${err}`);
      assert.ok(!(err instanceof OpenAI.APIConnectionError), `the 413 response was lost: ${err}`);
      assert.equal(err.status, 413);
      assert.equal(err.code, 'request_too_large');
      return true;
    });
  });

  it('an upstream 429 surfaces as RateLimitError with retry-after', T, async () => {
    await assert.rejects(client.chat.completions.create({ model: 'fake-ratelimit', messages: [{ role: 'user', content: 'x' }] }), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `expected RateLimitError, got ${err && err.constructor.name}: ${err}`);
      assert.equal(err.status, 429);
      assert.equal(err.headers.get('retry-after'), '7');
      assert.ok(err.message.includes(RATELIMIT_MESSAGE), err.message);
      return true;
    });
  });
});
