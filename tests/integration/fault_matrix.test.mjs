// The fault matrix: the same upstream faults (lib/faults.mjs) against every
// provider family, each case asserting exactly what the client sees (status,
// error body, stream chunks) and what the next request does (the cooldown
// keeps traffic off the deployment; the fallback group answers).
//
// Families: OpenAI-compatible, Azure OpenAI (same code path as OpenAI, but its
// own URL shape and api-key header), Anthropic and Bedrock. Each (family,
// case) pair gets its own deployments, so cooldowns never leak between cases:
//   <family>-<case>       one faulty deployment, no fallback
//   <family>-<case>-fb    one faulty deployment, fallbacks: [<family>-healthy]
// Router: num_retries 1, allowed_fails 1 (the second failure within a minute
// cools a deployment down), cooldown_time 30; a 429 cools it at once.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeUpstream, CHAT_REPLY } from './fake_upstream.mjs';
import { startFakeAnthropic, CLAUDE_TEXT } from './fake_anthropic.mjs';
import { startFakeBedrock, BEDROCK_TEXT } from './fake_bedrock.mjs';
import { startGateway, randomToken, installExitGuard } from './lib/gateway.mjs';
import { deadPort } from './lib/stack.mjs';
import { post, request, openStream, assertErrorObject, parsePrometheus } from './lib/http.mjs';
import {
  RATELIMIT_MESSAGE,
  ERROR500_MESSAGE,
  ERROR503_MESSAGE,
  MIDSTREAM_DROP_PIECES,
} from './lib/faults.mjs';

installExitGuard();

const T = { timeout: 20_000 };
const TIMEOUT_S = 0.5; // deployment timeout for the "hang" cases

// --- families ----------------------------------------------------------------

// How each family's deployments are written, and what its upstream-status
// errors look like after the gateway (OpenAI error shape in every case).
// Azure answers exactly like OpenAI (same fake, same code path after the URL).
const OPENAI_ERRORS = {
  ratelimit: { type: 'requests', code: 'rate_limit_exceeded', message: RATELIMIT_MESSAGE },
  error500: { type: 'server_error', code: null, message: ERROR500_MESSAGE },
  error503: { type: 'server_error', code: null, message: ERROR503_MESSAGE },
};

const FAMILIES = {
  openai: {
    params: (model, base) => ({ model: `openai/${model}`, api_base: base.openai, api_key: base.key }),
    healthyModel: 'normal',
    reply: CHAT_REPLY,
    upstreamError: OPENAI_ERRORS,
  },
  azure: {
    params: (model, base) => ({ model: `azure/${model}`, api_base: base.openai, api_key: base.key, api_version: '2024-10-21' }),
    healthyModel: 'normal',
    reply: CHAT_REPLY,
    upstreamError: OPENAI_ERRORS,
  },
  anthropic: {
    params: (model, base) => ({ model: `anthropic/${model}`, api_base: base.anthropic, api_key: base.key }),
    healthyModel: 'claude-normal',
    reply: CLAUDE_TEXT,
    upstreamError: {
      ratelimit: { type: 'rate_limit_error', code: null, message: RATELIMIT_MESSAGE },
      error500: { type: 'api_error', code: null, message: ERROR500_MESSAGE },
      error503: { type: 'overloaded_error', code: null, message: ERROR503_MESSAGE },
    },
  },
  bedrock: {
    params: (model, base) => ({ model: `bedrock/${model}`, api_base: base.bedrock, aws_region_name: 'us-east-1' }),
    healthyModel: 'healthy-model',
    reply: BEDROCK_TEXT,
    upstreamError: {
      ratelimit: { type: 'rate_limit_error', code: 'ThrottlingException', message: RATELIMIT_MESSAGE },
      error500: { type: 'api_error', code: 'InternalServerException', message: ERROR500_MESSAGE },
      error503: { type: 'service_unavailable_error', code: 'ServiceUnavailableException', message: ERROR503_MESSAGE },
    },
  },
};

// --- cases -------------------------------------------------------------------

// first: what the first request gets. `calls` counts calls to the faulty
// deployment. `error` is the exact error object
// (message as a RegExp where the gateway adds the deployment id).
// `cooldownAfter`: requests that fail before the deployment is cooling.
// A failure the gateway itself describes, retried once (num_retries: 1) on
// the group's only deployment: two calls, then this error. `message` is
// matched with the deployment id the gateway appends.
const retried = (status, type, code, message) => () => ({
  status,
  calls: 2,
  retries: 1,
  error: { type, code, message: new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(deployment [\\w-]+\\)$`) },
});

const CASES = [
  {
    name: '429 + retry-after',
    key: 'ratelimit',
    fault: 'ratelimit',
    first: (fam) => ({ status: 429, retryAfter: '7', calls: 1, retries: 0, error: fam.upstreamError.ratelimit }),
    cooldownAfter: 1,
  },
  {
    name: '500',
    key: 'error500',
    fault: 'error500',
    first: (fam) => ({ status: 500, calls: 2, retries: 1, error: fam.upstreamError.error500 }),
    cooldownAfter: 1,
  },
  {
    name: '503',
    key: 'error503',
    fault: 'error503',
    first: (fam) => ({ status: 503, calls: 2, retries: 1, error: fam.upstreamError.error503 }),
    cooldownAfter: 1,
  },
  {
    name: 'connection refused',
    key: 'refused',
    fault: null, // a healthy model behind a port nobody listens on
    first: retried(502, 'upstream_error', 'upstream_unreachable', 'Cannot connect to upstream'),
    cooldownAfter: 1,
  },
  {
    name: 'reset mid-body',
    key: 'resetbody',
    fault: 'reset-mid-body',
    first: retried(502, 'upstream_error', 'upstream_unreachable', 'Upstream closed the connection before completing the response'),
    cooldownAfter: 1,
  },
  {
    name: 'timeout before the first byte',
    key: 'hang',
    fault: 'hang',
    timeout: TIMEOUT_S,
    first: retried(504, 'timeout_error', 'upstream_timeout', 'Upstream request timed out'),
    cooldownAfter: 1,
  },
  {
    name: 'stream: timeout before the first byte (stream_timeout)',
    key: 'hangstream',
    fault: 'hang',
    stream: true,
    streamTimeout: TIMEOUT_S,
    first: retried(504, 'timeout_error', 'upstream_timeout', 'Upstream stream timed out'),
    cooldownAfter: 1,
  },
  {
    name: 'stream: drop mid-stream',
    key: 'drop',
    fault: 'midstream-drop',
    stream: true,
    // Committed: the client has the first chunks; never retried, no fallback.
    first: () => ({ status: 200, calls: 1, retries: 0, dropped: true }),
    // A stream that breaks is a failure of the deployment too: the second one
    // within the minute cools it down.
    cooldownAfter: 2,
  },
  {
    name: 'malformed JSON',
    key: 'garbage',
    fault: 'garbage',
    first: retried(502, 'upstream_error', 'upstream_invalid_response', 'Upstream returned a body that is not a JSON object'),
    cooldownAfter: 1,
  },
  {
    name: 'wrong content-type',
    key: 'ctype',
    fault: 'wrong-content-type',
    first: retried(502, 'upstream_error', 'upstream_invalid_response', 'Upstream answered with content-type text/html; charset=utf-8, not JSON'),
    cooldownAfter: 1,
  },
  {
    name: 'stream: wrong content-type',
    key: 'ctypestream',
    fault: 'wrong-content-type',
    stream: true,
    first: retried(502, 'upstream_error', 'upstream_invalid_response', 'Upstream answered a stream request with content-type text/html; charset=utf-8'),
    cooldownAfter: 1,
  },
];

// --- config --------------------------------------------------------------------

function yamlValue(v) {
  return typeof v === 'number' ? String(v) : JSON.stringify(String(v));
}

function deploymentYaml(group, id, params) {
  const lines = [`  - model_name: ${group}`, '    litellm_params:'];
  for (const [k, v] of Object.entries(params)) lines.push(`      ${k}: ${yamlValue(v)}`);
  lines.push(`    model_info: {id: ${id}}`);
  return lines.join('\n');
}

function matrixConfig(base) {
  const entries = [];
  const fallbacks = [];
  for (const [famName, fam] of Object.entries(FAMILIES)) {
    entries.push(deploymentYaml(`${famName}-healthy`, `${famName}-healthy`, fam.params(fam.healthyModel, base)));
    for (const c of CASES) {
      const model = c.fault ?? fam.healthyModel;
      const deadBase = { ...base, openai: base.deadOpenai, anthropic: base.dead, bedrock: base.dead };
      const params = fam.params(model, c.fault ? base : deadBase);
      if (c.timeout) params.timeout = c.timeout;
      if (c.streamTimeout) params.stream_timeout = c.streamTimeout;
      const group = `${famName}-${c.key}`;
      entries.push(deploymentYaml(group, group, params));
      entries.push(deploymentYaml(`${group}-fb`, `${group}-fb`, params));
      fallbacks.push(`    - ${group}-fb: [${famName}-healthy]`);
    }
  }
  return [
    'model_list:',
    ...entries,
    'router_settings:',
    '  routing_strategy: simple-shuffle',
    '  num_retries: 1',
    '  allowed_fails: 1',
    '  cooldown_time: 30',
    '  fallbacks:',
    ...fallbacks,
    'general_settings:',
    '  master_key: os.environ/TEST_MASTER_KEY',
    '',
  ].join('\n');
}

// --- the matrix ------------------------------------------------------------------

describe('fault matrix', () => {
  const masterKey = randomToken('sk-master');
  const credentials = { accessKeyId: 'AKIDFAULTMATRIX', secretAccessKey: randomToken('secret'), region: 'us-east-1' };
  let openaiFake;
  let anthropicFake;
  let bedrockFake;
  let gw;
  let dir;
  const auth = { authorization: `Bearer ${masterKey}` };

  before(async () => {
    openaiFake = await startFakeUpstream();
    anthropicFake = await startFakeAnthropic();
    bedrockFake = await startFakeBedrock(credentials);
    const dead = await deadPort();
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-faults-'));
    const config = path.join(dir, 'faults.yaml');
    writeFileSync(
      config,
      matrixConfig({
        openai: openaiFake.baseUrl,
        anthropic: anthropicFake.baseUrl,
        bedrock: bedrockFake.baseUrl,
        deadOpenai: `http://127.0.0.1:${dead}/v1`,
        dead: `http://127.0.0.1:${dead}`,
        key: randomToken('sk-upstream'),
      }),
    );
    gw = await startGateway({
      config,
      env: {
        TEST_MASTER_KEY: masterKey,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await openaiFake?.close();
    await anthropicFake?.close();
    await bedrockFake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const fakeOf = (famName) => ({ openai: openaiFake, azure: openaiFake, anthropic: anthropicFake, bedrock: bedrockFake })[famName];
  const upstreamModel = (famName, r) => (famName === 'bedrock' ? r.modelId : r.body?.model);
  // Calls of this request (by its nonce) that reached the family's upstream with `model`.
  const hits = (famName, nonce, model) =>
    fakeOf(famName).find(nonce).filter((r) => upstreamModel(famName, r) === model).length;

  // Failed connection attempts to a deployment so far (the gateway's metric):
  // what "calls" means when nothing listens.
  async function connectFailures(deployment) {
    const res = await request(gw.baseUrl, { path: '/metrics', headers: auth });
    return parsePrometheus(res.text)
      .filter((m) => m.name === 'switchyard_upstream_errors_total' && m.labels.deployment === deployment && m.labels.kind === 'connect')
      .reduce((a, m) => a + m.value, 0);
  }

  // One request; a stream is read to its end. Returns {status, headers, json, events, elapsedMs}.
  async function send(group, nonce, stream) {
    const body = { model: group, messages: [{ role: 'user', content: nonce }] };
    const started = Date.now();
    if (!stream) {
      const res = await post(gw.baseUrl, '/v1/chat/completions', body, { headers: auth, timeoutMs: 15_000 });
      return { ...res, events: null, elapsedMs: Date.now() - started };
    }
    const st = await openStream(gw.baseUrl, { headers: auth, body: { ...body, stream: true }, timeoutMs: 15_000 });
    const events = await st.readAll(15_000);
    let json;
    try {
      json = JSON.parse(st.rawText);
    } catch {
      json = undefined;
    }
    return { status: st.status, headers: st.headers, text: st.rawText, json, events, elapsedMs: Date.now() - started };
  }

  function assertError(res, expected, what) {
    assert.match(String(res.headers['content-type']), /application\/json/, `${what}: error must be JSON`);
    assert.ok(res.json?.error, `${what}: ${res.text}`);
    assertErrorObject(res.json.error);
    assert.deepEqual(Object.keys(res.json.error).sort(), ['code', 'message', 'param', 'type'], what);
    assert.equal(res.json.error.type, expected.type, `${what}: type in ${res.text}`);
    assert.equal(res.json.error.code, expected.code, `${what}: code in ${res.text}`);
    assert.equal(res.json.error.param, null, what);
    if (expected.message instanceof RegExp) assert.match(res.json.error.message, expected.message, what);
    else assert.equal(res.json.error.message, expected.message, what);
  }

  // The dropped stream: the role chunk and exactly the pieces sent before the
  // cut, then one error event, and no [DONE].
  function assertDropped(res, what) {
    assert.equal(res.status, 200, `${what}: ${res.text}`);
    assert.match(String(res.headers['content-type']), /text\/event-stream/, what);
    const data = res.events.filter((e) => e.json?.choices);
    const content = data.map((e) => e.json.choices[0]?.delta?.content ?? '').join('');
    assert.equal(content, MIDSTREAM_DROP_PIECES.join(''), `${what}: content received: ${res.text}`);
    assert.equal(data[0].json.choices[0].delta.role, 'assistant', what);
    assert.ok(data.every((e) => e.json.choices[0]?.finish_reason == null), `${what}: no finish_reason on a cut stream`);
    const last = res.events.at(-1);
    assert.ok(last.json?.error, `${what}: last event must be an error: ${res.text}`);
    assertErrorObject(last.json.error);
    assert.equal(last.json.error.code, 'upstream_unreachable', what);
    assert.match(last.json.error.message, /^Upstream stream interrupted: /, what);
    assert.ok(!res.events.some((e) => e.data === '[DONE]'), `${what}: no [DONE] after a cut`);
    assert.equal(res.events.filter((e) => e.json?.error).length, 1, what);
  }

  // send(), plus `calls`: how many times the faulty deployment `group` was
  // called (requests its fake upstream recorded, or failed connections).
  async function sendCounting(famName, group, model, nonce, stream) {
    const before = model ? 0 : await connectFailures(group);
    const res = await send(group, nonce, stream);
    res.calls = model ? hits(famName, nonce, model) : (await connectFailures(group)) - before;
    return res;
  }

  function assertFirst(famName, c, res, what) {
    const expected = c.first(FAMILIES[famName]);
    if (expected.dropped) {
      assertDropped(res, what);
    } else {
      assert.equal(res.status, expected.status, `${what}: ${res.text}`);
      assertError(res, expected.error, what);
      if (expected.retryAfter) assert.equal(res.headers['retry-after'], expected.retryAfter, what);
      // The wait before a retry is short: an upstream retry-after is not
      // waited out when there is nothing left to retry on.
      assert.ok(res.elapsedMs < 5000, `${what}: took ${res.elapsedMs} ms`);
    }
    assert.equal(res.headers['x-litellm-attempted-retries'], String(expected.retries), `${what}: retries`);
    assert.equal(res.headers['x-litellm-attempted-fallbacks'], '0', what);
    assert.equal(res.calls, expected.calls, `${what}: calls to the faulty deployment`);
  }

  for (const famName of Object.keys(FAMILIES)) {
    describe(famName, () => {
      const fam = FAMILIES[famName];
      for (const c of CASES) {
        const group = `${famName}-${c.key}`;
        // The faulty upstream model (none for "connection refused": nothing listens).
        const model = c.fault;

        it(`${c.name}: exact error, then the cooldown answers 429 without calling the upstream`, T, async () => {
          for (let i = 0; i < c.cooldownAfter; i++) {
            const nonce = randomToken(`${group}-${i}`);
            const res = await sendCounting(famName, group, model, nonce, c.stream);
            assertFirst(famName, c, res, `${group} request ${i + 1}`);
          }
          const nonce = randomToken(`${group}-next`);
          const next = await sendCounting(famName, group, model, nonce, c.stream);
          assert.equal(next.status, 429, `${group} next: ${next.text}`);
          assertError(next, {
            type: 'rate_limit_error',
            code: 'no_available_deployment',
            message: `No deployment of model group '${group}' is available right now (all cooling down or at their limits)`,
          }, `${group} next`);
          const retryAfter = Number(next.headers['retry-after']);
          assert.ok(retryAfter >= 1 && retryAfter <= 31, `retry-after ${next.headers['retry-after']}`);
          assert.equal(next.calls, 0, `${group}: a cooling deployment must not be called`);
        });

        it(`${c.name}: the fallback group answers, and keeps answering while the deployment cools`, T, async () => {
          const fb = `${group}-fb`;
          for (let i = 0; i < c.cooldownAfter; i++) {
            const nonce = randomToken(`${fb}-${i}`);
            const res = await sendCounting(famName, fb, model, nonce, c.stream);
            if (c.first(fam).dropped) {
              // Already streaming to the client: no fallback can take over.
              assertFirst(famName, c, res, `${fb} request ${i + 1}`);
              assert.equal(hits(famName, nonce, fam.healthyModel), 0);
              continue;
            }
            assert.equal(res.status, 200, `${fb}: ${res.text}`);
            assert.equal(res.headers['x-litellm-model-group'], `${famName}-healthy`);
            assert.equal(res.headers['x-litellm-model-id'], `${famName}-healthy`);
            assert.equal(res.headers['x-litellm-attempted-fallbacks'], '1');
            const expected = c.first(fam);
            assert.equal(res.calls, expected.calls, `${fb}: calls to the faulty deployment`);
            assert.equal(hits(famName, nonce, fam.healthyModel), 1);
            assertAnswer(res, fam.reply, fb);
          }
          const nonce = randomToken(`${fb}-next`);
          const next = await sendCounting(famName, fb, model, nonce, c.stream);
          assert.equal(next.status, 200, `${fb} next: ${next.text}`);
          assert.equal(next.headers['x-litellm-model-group'], `${famName}-healthy`);
          assert.equal(next.headers['x-litellm-attempted-fallbacks'], '1');
          assert.equal(next.headers['x-litellm-attempted-retries'], '0', 'a cooling group is skipped, not retried');
          assert.equal(next.calls, 0, `${fb}: a cooling deployment must not be called`);
          assert.equal(hits(famName, nonce, fam.healthyModel), 1);
          assertAnswer(next, fam.reply, `${fb} next`);
        });
      }
    });
  }

  function assertAnswer(res, reply, what) {
    if (res.events) {
      const content = res.events.map((e) => e.json?.choices?.[0]?.delta?.content ?? '').join('');
      assert.equal(content, reply, what);
      assert.equal(res.events.at(-1).data, '[DONE]', what);
    } else {
      assert.equal(res.json.choices[0].message.content, reply, what);
    }
  }
});
