// Redis end to end: one real redis-server (started here) shared by two
// gateways: a per-key RPM limit held across both, the 429 and its
// x-ratelimit-* headers, the response cache (hit/miss, no-cache, no-store,
// ttl, streaming replay, errors never cached, shared across replicas), and
// Redis killed and restarted under load: no request fails for it, and
// limits and the cache resume afterwards.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway, configPath, randomToken, installExitGuard, tempDataDir } from './lib/gateway.mjs';
import { request, post, sleep } from './lib/http.mjs';
import { startRedis } from './lib/redis.mjs';
import { deadPort } from './lib/stack.mjs';

installExitGuard();
const T = { timeout: 60_000 };

async function metric(gw, name) {
  const res = await request(gw.baseUrl, { method: 'GET', path: '/metrics' });
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

// Fixed one-minute windows: do not start a limit test in a window's last seconds.
async function awayFromWindowEdge() {
  const s = new Date().getUTCSeconds();
  if (s >= 50) await sleep((61 - s) * 1000);
}

describe('Redis: shared limits and response cache', { skip: false }, () => {
  let redis;
  let gwA;
  let gwB;
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };
  const chat = (gw, content, extra = {}, headers = auth) =>
    post(gw.baseUrl, '/v1/chat/completions', { model: 'echo', messages: [{ role: 'user', content }], ...extra }, { headers });

  before(async () => {
    redis = await startRedis();
    if (!redis) return;
    const dataDir = tempDataDir(); // one SQLite store shared by both gateways
    const env = {
      TEST_MASTER_KEY: masterKey,
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      SWITCHYARD_DATA_DIR: dataDir,
      DEAD_UPSTREAM_BASE: `http://127.0.0.1:${await deadPort()}/v1`,
    };
    gwA = await startGateway({ config: configPath('redis.yaml'), env });
    gwB = await startGateway({ config: configPath('redis.yaml'), env });
  });
  after(async () => {
    await gwA?.stop();
    await gwB?.stop();
    await redis?.close();
  });

  it('holds a key RPM limit across two gateways, with 429 and x-ratelimit-* headers', T, async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const gen = await post(gwA.baseUrl, '/key/generate', { rpm_limit: 10, tpm_limit: 1000000 }, { headers: auth });
    assert.equal(gen.status, 200, gen.text);
    const key = { authorization: `Bearer ${gen.json.key}` };
    await awayFromWindowEdge();
    const results = [];
    for (let i = 0; i < 16; i++) {
      results.push(await chat(i % 2 ? gwB : gwA, `limit ${i}`, { cache: { 'no-cache': true, 'no-store': true } }, key));
    }
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    assert.equal(ok.length, 10, results.map((r) => r.status).join(','));
    assert.equal(limited.length, 6);
    assert.equal(ok[0].headers['x-ratelimit-limit-requests'], '10');
    assert.equal(ok[0].headers['x-ratelimit-remaining-requests'], '9');
    assert.equal(ok[9].headers['x-ratelimit-remaining-requests'], '0');
    assert.equal(ok[0].headers['x-ratelimit-limit-tokens'], '1000000');
    assert.ok(Number(ok[0].headers['x-ratelimit-remaining-tokens']) <= 1000000);
    const r429 = limited[0];
    assert.ok(Number(r429.headers['retry-after']) >= 1 && Number(r429.headers['retry-after']) <= 60);
    assert.equal(r429.headers['x-ratelimit-limit-requests'], '10');
    assert.equal(r429.headers['x-ratelimit-remaining-requests'], '0');
    assert.equal(r429.json.error.code, 'rate_limit_exceeded');
    // Both replicas refused: the count really is shared.
    assert.ok(limited.some((r, i) => results.indexOf(r) % 2 === 0));
    assert.ok(limited.some((r, i) => results.indexOf(r) % 2 === 1));
  });

  it('holds deployment rpm/tpm caps across two gateways', T, async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const fresh = { cache: { 'no-cache': true, 'no-store': true } };
    await awayFromWindowEdge();
    const results = [];
    for (let i = 0; i < 8; i++) {
      results.push(await post((i % 2 ? gwB : gwA).baseUrl, '/v1/chat/completions',
        { model: 'capped', messages: [{ role: 'user', content: `cap ${i}` }], ...fresh }, { headers: auth }));
    }
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    assert.equal(ok.length, 5, results.map((r) => `${r.status} ${r.headers['x-litellm-model-id']}`).join(','));
    assert.equal(refused.length, 3);
    const served = ok.map((r) => r.headers['x-litellm-model-id']);
    assert.equal(served.filter((id) => id === 'capped-1').length, 3);
    assert.equal(served.filter((id) => id === 'capped-2').length, 2);
    // Both replicas served some: the caps are not per replica.
    assert.ok(ok.some((r) => results.indexOf(r) % 2 === 0) && ok.some((r) => results.indexOf(r) % 2 === 1));
    assert.equal(refused[0].json.error.code, 'no_available_deployment');
    const retryAfter = Number(refused[0].headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 61, `retry-after ${retryAfter}`);

    // tpm 1: the first answer's tokens fill the minute for both replicas.
    const first = await post(gwA.baseUrl, '/v1/chat/completions',
      { model: 'tokencap', messages: [{ role: 'user', content: 'tokens' }], ...fresh }, { headers: auth });
    assert.equal(first.status, 200, first.text);
    // The token count reaches Redis in the background: allow it a moment.
    // gwB has served no tokencap request itself, so only the shared count
    // can refuse this one.
    await sleep(200);
    const second = await post(gwB.baseUrl, '/v1/chat/completions',
      { model: 'tokencap', messages: [{ role: 'user', content: 'tokens' }], ...fresh }, { headers: auth });
    assert.equal(second.status, 429, second.text);
    assert.equal(second.json.error.code, 'no_available_deployment');
  });

  it('answers a repeated request from the cache, on either gateway', T, async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const prompt = `cache me ${randomToken('p')}`;
    const first = await chat(gwA, prompt);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers['x-litellm-cache-hit'], 'false');
    assert.equal(first.headers['x-litellm-cache-key'], undefined);
    let second;
    for (let i = 0; i < 20; i++) {
      second = await chat(gwB, prompt); // the store is asynchronous: allow it a moment
      if (second.headers['x-litellm-cache-hit'] === 'true') break;
      await sleep(25);
    }
    assert.equal(second.headers['x-litellm-cache-hit'], 'true');
    assert.match(second.headers['x-litellm-cache-key'], /^[0-9a-f]{64}$/);
    assert.ok(!second.headers['x-litellm-cache-key'].includes(prompt));
    assert.equal(second.json.id, first.json.id);
    assert.deepEqual(second.json.choices, first.json.choices);
    // Fields that change the answer change the key; delivery fields do not.
    const other = await chat(gwA, prompt, { temperature: 0.5 });
    assert.equal(other.headers['x-litellm-cache-hit'], 'false');
    const sameAnswer = await chat(gwA, prompt, { user: 'someone-else' });
    assert.equal(sameAnswer.headers['x-litellm-cache-hit'], 'true');
    // The official client sees an ordinary completion.
    const client = new OpenAI({ apiKey: masterKey, baseURL: `${gwA.baseUrl}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: 'echo', messages: [{ role: 'user', content: prompt }] })
      .withResponse();
    assert.equal(response.headers.get('x-litellm-cache-hit'), 'true');
    assert.equal(data.choices[0].message.content, first.json.choices[0].message.content);
  });

  it('honours no-cache, no-store and ttl per request', T, async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const prompt = `controls ${randomToken('p')}`;
    const stored = await chat(gwA, prompt);
    await sleep(50);
    const fresh = await chat(gwA, prompt, { cache: { 'no-cache': true } });
    assert.equal(fresh.headers['x-litellm-cache-hit'], 'false');
    assert.notEqual(fresh.json.id, stored.json.id);

    const unstored = `no-store ${randomToken('p')}`;
    await chat(gwA, unstored, { cache: { 'no-store': true } });
    await sleep(50);
    assert.equal((await chat(gwA, unstored)).headers['x-litellm-cache-hit'], 'false');

    const brief = `ttl ${randomToken('p')}`;
    await chat(gwA, brief, { cache: { ttl: 1 } });
    await sleep(100);
    assert.equal((await chat(gwA, brief, { cache: { 'no-store': true } })).headers['x-litellm-cache-hit'], 'true');
    await sleep(1300);
    assert.equal((await chat(gwA, brief)).headers['x-litellm-cache-hit'], 'false');
  });

  it('never caches errors', T, async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const body = { model: 'broken', messages: [{ role: 'user', content: 'fails' }] };
    const a = await post(gwA.baseUrl, '/v1/chat/completions', body, { headers: auth });
    await sleep(50);
    const b = await post(gwA.baseUrl, '/v1/chat/completions', body, { headers: auth });
    assert.ok(a.status >= 500 && b.status >= 500, `${a.status} ${b.status}`);
    assert.equal(b.headers['x-litellm-cache-key'], undefined);
  });

  it('stores a finished stream and replays it as SSE (and as JSON)', T, async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const client = new OpenAI({ apiKey: masterKey, baseURL: `${gwA.baseUrl}/v1`, maxRetries: 0 });
    const prompt = `stream ${randomToken('p')}`;
    const collect = async (gwClient) => {
      const { data: stream, response } = await gwClient.chat.completions
        .create({ model: 'echo', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt }] })
        .withResponse();
      let text = '';
      let usage = null;
      let finish = null;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
          text += c.delta?.content ?? '';
          if (c.finish_reason) finish = c.finish_reason;
        }
      }
      return { text, usage, finish, hit: response.headers.get('x-litellm-cache-hit') };
    };
    const live = await collect(client);
    assert.equal(live.hit, 'false');
    assert.equal(live.text, 'cached words here');
    await sleep(50);
    const clientB = new OpenAI({ apiKey: masterKey, baseURL: `${gwB.baseUrl}/v1`, maxRetries: 0 });
    const replay = await collect(clientB);
    assert.equal(replay.hit, 'true');
    assert.equal(replay.text, live.text);
    assert.equal(replay.finish, live.finish);
    assert.deepEqual(replay.usage, live.usage);
    const json = await chat(gwA, prompt);
    assert.equal(json.headers['x-litellm-cache-hit'], 'true');
    assert.equal(json.json.choices[0].message.content, live.text);
  });

  it('readiness reports Redis', T, async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const res = await request(gwA.baseUrl, { method: 'GET', path: '/_health/ready' });
    assert.equal(res.status, 200);
    assert.equal(res.json.redis, 'connected');
  });

  it('keeps serving while Redis is killed and restarted, then shares limits and cache again', T, async (t) => {
    if (!redis) return t.skip('redis-server not installed');
    const gen = await post(gwA.baseUrl, '/key/generate', { rpm_limit: 100000 }, { headers: auth });
    const key = { authorization: `Bearer ${gen.json.key}` };
    const failOpenBefore = (await metric(gwA, 'switchyard_rate_limit_fail_open_total')) + (await metric(gwB, 'switchyard_rate_limit_fail_open_total'));
    let stop = false;
    const statuses = [];
    const load = async (gw, n) => {
      for (let i = 0; !stop; i++) {
        const r = await chat(gw, `load ${n} ${i % 5}`, {}, key);
        statuses.push(r.status);
        await sleep(5);
      }
    };
    const workers = [load(gwA, 1), load(gwB, 2), load(gwA, 3), load(gwB, 4)];
    await sleep(300);
    await redis.stop();
    await sleep(800);
    const ready = await request(gwA.baseUrl, { method: 'GET', path: '/_health/ready' });
    assert.equal(ready.status, 200); // fail-open: still ready
    assert.equal(ready.json.redis, 'disconnected');
    // A capped deployment is still served on this replica's own count, and
    // the missed shared count is reported.
    const syncFailuresBefore = await metric(gwA, 'switchyard_deployment_usage_sync_failures_total');
    const capped = await post(gwA.baseUrl, '/v1/chat/completions',
      { model: 'softcap', messages: [{ role: 'user', content: 'redis down' }] }, { headers: auth });
    assert.equal(capped.status, 200, capped.text);
    assert.ok((await metric(gwA, 'switchyard_deployment_usage_sync_failures_total')) > syncFailuresBefore);
    await redis.start();
    await sleep(2500); // the reconnect backoff is at most 2 s
    stop = true;
    await Promise.all(workers);
    assert.ok(statuses.length > 50, `only ${statuses.length} requests`);
    assert.deepEqual([...new Set(statuses)], [200], `statuses: ${statuses.filter((s) => s !== 200).join(',')}`);
    const failOpenAfter = (await metric(gwA, 'switchyard_rate_limit_fail_open_total')) + (await metric(gwB, 'switchyard_rate_limit_fail_open_total'));
    assert.ok(failOpenAfter > failOpenBefore, 'fail-open was counted');
    assert.ok((await metric(gwA, 'switchyard_cache_bypassed_total')) + (await metric(gwB, 'switchyard_cache_bypassed_total')) > 0);

    // Back: the cache stores and hits again, and limits are shared again.
    const prompt = `after ${randomToken('p')}`;
    await chat(gwA, prompt);
    await sleep(50);
    assert.equal((await chat(gwB, prompt)).headers['x-litellm-cache-hit'], 'true');
    const limitedGen = await post(gwA.baseUrl, '/key/generate', { rpm_limit: 4 }, { headers: auth });
    const limitedKey = { authorization: `Bearer ${limitedGen.json.key}` };
    await awayFromWindowEdge();
    const s = [];
    for (let i = 0; i < 6; i++) s.push((await chat(i % 2 ? gwB : gwA, `x${i}`, { cache: { 'no-cache': true } }, limitedKey)).status);
    assert.deepEqual(s, [200, 200, 200, 200, 429, 429]);
  });
});
