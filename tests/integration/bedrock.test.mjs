// bedrock/ deployments: Converse and ConverseStream with SigV4 signing,
// driven by the official openai client. The fake upstream recomputes every
// signature from the bytes it received and refuses a wrong one.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeBedrock, BEDROCK_TEXT, BEDROCK_USAGE } from './fake_bedrock.mjs';
import { startGateway, configPath, randomToken, installExitGuard } from './lib/gateway.mjs';

installExitGuard();

const T = { timeout: 15_000 };

describe('bedrock', () => {
  const credentials = { accessKeyId: 'AKIDTESTGATEWAY', secretAccessKey: randomToken('secret'), region: 'us-east-1' };
  const masterKey = randomToken('sk-master');
  let fake;
  let gw;
  let client;

  before(async () => {
    fake = await startFakeBedrock(credentials);
    gw = await startGateway({
      config: configPath('bedrock.yaml'),
      env: {
        FAKE_BEDROCK_BASE: fake.baseUrl,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        TEST_MASTER_KEY: masterKey,
      },
    });
    client = new OpenAI({ apiKey: masterKey, baseURL: `${gw.baseUrl}/v1`, maxRetries: 0, timeout: 10_000 });
  });
  after(async () => {
    await gw?.stop();
    await fake?.close();
  });

  it('signs a Converse call correctly and translates both ways', T, async () => {
    const nonce = randomToken('bedrock');
    const res = await client.chat.completions.create({
      model: 'claude-haiku',
      max_tokens: 200,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: nonce }],
    });
    assert.equal(res.choices[0].message.content, BEDROCK_TEXT);
    assert.equal(res.choices[0].finish_reason, 'stop');
    assert.equal(res.usage.prompt_tokens, BEDROCK_USAGE.inputTokens);
    assert.equal(res.usage.completion_tokens, BEDROCK_USAGE.outputTokens);
    const [up] = fake.find(nonce);
    assert.equal(up.signatureProblem, null);
    assert.equal(up.path, '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    assert.deepEqual(up.body.system, [{ text: 'Be brief.' }]);
    assert.deepEqual(up.body.messages, [{ role: 'user', content: [{ text: nonce }] }]);
    assert.equal(up.body.inferenceConfig.maxTokens, 200);
  });

  it('decodes ConverseStream event frames into OpenAI chunks', T, async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-haiku',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: randomToken('bedrock-stream') }],
    });
    let text = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, BEDROCK_TEXT);
    assert.equal(finish, 'stop');
    assert.equal(usage?.total_tokens, BEDROCK_USAGE.totalTokens);
    assert.equal(fake.requests.at(-1).signatureProblem, null);
    assert.match(fake.requests.at(-1).path, /\/converse-stream$/);
  });

  it('maps ThrottlingException to 429', T, async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'throttled', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 429 && /Too many requests/.test(err.message),
    );
  });
});
