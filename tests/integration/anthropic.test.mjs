// Anthropic both ways: the anthropic/ provider behind the OpenAI API (driven
// by the official openai client), and the inbound /v1/messages API (driven
// by the official @anthropic-ai/sdk client) routed to any deployment.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, CHAT_REPLY, FAKE_USAGE } from './fake_upstream.mjs';
import { startFakeAnthropic, CLAUDE_TEXT, CLAUDE_USAGE } from './fake_anthropic.mjs';
import { startGateway, configPath, randomToken, installExitGuard } from './lib/gateway.mjs';

installExitGuard();

const T = { timeout: 15_000 };

describe('anthropic', () => {
  let fake;
  let claude;
  let gw;
  let openai;
  let anthropic;
  const masterKey = randomToken('sk-master');
  const anthropicKey = randomToken('sk-ant');

  before(async () => {
    fake = await startFakeUpstream();
    claude = await startFakeAnthropic();
    gw = await startGateway({
      config: configPath('anthropic.yaml'),
      env: {
        FAKE_UPSTREAM_BASE: fake.baseUrl,
        FAKE_UPSTREAM_KEY: 'sk-upstream',
        FAKE_ANTHROPIC_BASE: claude.baseUrl,
        FAKE_ANTHROPIC_KEY: anthropicKey,
        TEST_MASTER_KEY: masterKey,
      },
    });
    openai = new OpenAI({ apiKey: masterKey, baseURL: `${gw.baseUrl}/v1`, maxRetries: 0, timeout: 10_000 });
    anthropic = new Anthropic({ apiKey: masterKey, baseURL: gw.baseUrl, maxRetries: 0, timeout: 10_000 });
  });
  after(async () => {
    await gw?.stop();
    await fake?.close();
    await claude?.close();
  });

  describe('anthropic/ provider (OpenAI client in, Anthropic upstream)', () => {
    it('translates the request and the answer', T, async () => {
      const nonce = randomToken('claude');
      const res = await openai.chat.completions.create({
        model: 'claude',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: nonce },
        ],
        temperature: 0.3,
        stop: ['END'],
      });
      assert.equal(res.object, 'chat.completion');
      assert.equal(res.choices[0].message.content, CLAUDE_TEXT);
      assert.equal(res.choices[0].finish_reason, 'stop');
      assert.equal(res.usage.prompt_tokens, CLAUDE_USAGE.input_tokens);
      assert.equal(res.usage.completion_tokens, CLAUDE_USAGE.output_tokens);

      const [up] = claude.find(nonce);
      assert.equal(up.headers['x-api-key'], anthropicKey);
      assert.equal(up.headers['anthropic-version'], '2023-06-01');
      assert.equal(up.headers.authorization, undefined);
      assert.equal(up.body.model, 'claude-normal');
      assert.equal(up.body.system, 'Be brief.');
      assert.deepEqual(up.body.messages, [{ role: 'user', content: nonce }]);
      assert.equal(up.body.max_tokens, 4096);
      assert.equal(up.body.temperature, 0.3);
      assert.deepEqual(up.body.stop_sequences, ['END']);
    });

    it('streams Anthropic events as OpenAI chunks with usage at the end', T, async () => {
      const stream = await openai.chat.completions.create({
        model: 'claude',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: randomToken('claude-stream') }],
      });
      let text = '';
      let finish = null;
      let usage = null;
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk');
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text, CLAUDE_TEXT);
      assert.equal(finish, 'stop');
      assert.equal(usage?.completion_tokens, CLAUDE_USAGE.output_tokens);
      assert.equal(usage?.prompt_tokens, CLAUDE_USAGE.input_tokens);
    });

    it('translates tools and tool calls (also streamed)', T, async () => {
      const tools = [{
        type: 'function',
        function: { name: 'get_weather', description: 'Weather by city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      }];
      const nonce = randomToken('tools');
      const res = await openai.chat.completions.create({
        model: 'claude-tools', tools, tool_choice: 'required', messages: [{ role: 'user', content: nonce }],
      });
      assert.equal(res.choices[0].finish_reason, 'tool_calls');
      const call = res.choices[0].message.tool_calls[0];
      assert.equal(call.id, 'toolu_fake_1');
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
      const [up] = claude.find(nonce);
      assert.deepEqual(up.body.tools[0], {
        name: 'get_weather', description: 'Weather by city',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      });
      assert.deepEqual(up.body.tool_choice, { type: 'any' });

      const stream = await openai.chat.completions.create({
        model: 'claude-tools', tools, stream: true, messages: [{ role: 'user', content: 'weather?' }],
      });
      let args = '';
      let name = null;
      for await (const chunk of stream) {
        const tc = chunk.choices[0]?.delta?.tool_calls?.[0];
        if (tc?.function?.name) name = tc.function.name;
        args += tc?.function?.arguments ?? '';
      }
      assert.equal(name, 'get_weather');
      assert.deepEqual(JSON.parse(args), { city: 'Paris' });
    });

    it('a stream cut off before message_stop ends with an error, not a silent stop', T, async () => {
      const stream = await openai.chat.completions.create({
        model: 'claude-cutoff', stream: true, messages: [{ role: 'user', content: 'x' }],
      });
      let text = '';
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        })(),
        (err) => /interrupted/.test(err.message),
      );
      assert.ok(text.length > 0, 'the part that arrived was delivered');
    });

    it('maps Anthropic errors to OpenAI errors', T, async () => {
      await assert.rejects(
        openai.chat.completions.create({ model: 'claude-overloaded', messages: [{ role: 'user', content: 'x' }] }),
        (err) => {
          assert.ok(err.status >= 500, `status ${err.status}`);
          assert.match(err.message, /Overloaded/);
          return true;
        },
      );
    });
  });

  describe('inbound /v1/messages (Anthropic client in)', () => {
    it('routes to an OpenAI-compatible deployment and answers in the Anthropic format', T, async () => {
      const nonce = randomToken('messages');
      const msg = await anthropic.messages.create({
        model: 'fake-normal',
        max_tokens: 100,
        system: 'Be brief.',
        messages: [{ role: 'user', content: nonce }],
      });
      assert.equal(msg.type, 'message');
      assert.equal(msg.role, 'assistant');
      assert.equal(msg.content[0].type, 'text');
      assert.equal(msg.content[0].text, CHAT_REPLY);
      assert.equal(msg.stop_reason, 'end_turn');
      assert.equal(msg.usage.input_tokens, FAKE_USAGE.prompt_tokens);
      assert.equal(msg.usage.output_tokens, FAKE_USAGE.completion_tokens);
      const [up] = fake.find(nonce);
      assert.equal(up.body.model, 'normal');
      assert.deepEqual(up.body.messages[0], { role: 'system', content: 'Be brief.' });
      assert.equal(up.body.max_tokens, 100);
    });

    it('streams in the Anthropic event format', T, async () => {
      const stream = anthropic.messages.stream({
        model: 'fake-normal', max_tokens: 50, messages: [{ role: 'user', content: randomToken('m-stream') }],
      });
      const events = [];
      stream.on('streamEvent', (e) => events.push(e.type));
      const text = await stream.finalText();
      assert.equal(text, CHAT_REPLY);
      assert.equal(events[0], 'message_start');
      assert.ok(events.includes('content_block_delta'));
      assert.equal(events.at(-1), 'message_stop');
      const final = await stream.finalMessage();
      assert.equal(final.stop_reason, 'end_turn');
    });

    it('also reaches an Anthropic deployment', T, async () => {
      const msg = await anthropic.messages.create({
        model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: randomToken('double') }],
      });
      assert.equal(msg.content[0].text, CLAUDE_TEXT);
    });

    it('auth failures and unknown models surface as Anthropic SDK errors', T, async () => {
      const bad = new Anthropic({ apiKey: 'sk-wrong', baseURL: gw.baseUrl, maxRetries: 0 });
      await assert.rejects(
        bad.messages.create({ model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
        (err) => err instanceof Anthropic.AuthenticationError && err.status === 401,
      );
      await assert.rejects(
        anthropic.messages.create({ model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
        (err) => err instanceof Anthropic.BadRequestError && err.status === 400 && /no-such-model/.test(err.message),
      );
    });
  });
});
