// Virtual keys, spend and budgets end to end: the official `openai` client
// with virtual keys against the embedded SQLite store, then against a real
// PostgreSQL cluster (started here): two gateways sharing it, a budget held
// across both, and PostgreSQL stopped and restarted under load.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startGateway, configPath, randomToken, installExitGuard, tempDataDir } from './lib/gateway.mjs';
import { request, post, sleep, waitFor } from './lib/http.mjs';
import { startPostgres } from './lib/postgres.mjs';

installExitGuard();

const T = { timeout: 60_000 };
// One request to `priced` with max_tokens 8 costs exactly 8 * 2^-7 USD
// (configs/store.yaml), and the gateway reserves exactly that up front.
const COST = 0.0625;
const CHAT = { model: 'priced', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 };

function admin(gw, masterKey) {
  const headers = { authorization: `Bearer ${masterKey}` };
  return {
    post: (path, body) => post(gw.baseUrl, path, body, { headers }),
    get: (path) => request(gw.baseUrl, { method: 'GET', path, headers }),
    async generate(body) {
      const res = await post(gw.baseUrl, '/key/generate', body, { headers });
      assert.equal(res.status, 200, res.text);
      return res.json;
    },
  };
}

const client = (gw, apiKey) => new OpenAI({ apiKey, baseURL: `${gw.baseUrl}/v1`, maxRetries: 0, timeout: 15_000 });

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (err) {
    if (err.status) return err.status;
    throw err;
  }
}


async function keySpend(a, key) {
  const res = await a.get(`/key/info?key=${encodeURIComponent(key)}`);
  assert.equal(res.status, 200, res.text);
  return res.json.info.spend;
}

// 200 concurrent requests, optionally spread over several gateways.
async function burst(gws, key, n = 200) {
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => status(client(gws[i % gws.length], key).chat.completions.create(CHAT))),
  );
  const count = (s) => results.filter((r) => r === s).length;
  return { ok: count(200), denied: count(403), other: results.filter((r) => r !== 200 && r !== 403) };
}

describe('virtual keys on the embedded SQLite store', () => {
  let gw;
  let a;
  const masterKey = randomToken('sk-master');

  before(async () => {
    gw = await startGateway({ config: configPath('store.yaml'), env: { TEST_MASTER_KEY: masterKey } });
    a = admin(gw, masterKey);
  });
  after(async () => {
    if (gw) await gw.stop();
  });

  it('a generated key works with the openai client; the response never shows the key again', T, async () => {
    const k = await a.generate({ models: ['priced'], key_alias: randomToken('alias'), metadata: { team: 'x' } });
    assert.match(k.key, /^sk-[A-Za-z0-9_-]{20,}$/);
    assert.equal(k.token.length, 64);
    assert.equal(k.key_name, `sk-...${k.key.slice(-4)}`);
    const out = await client(gw, k.key).chat.completions.create(CHAT);
    assert.equal(out.choices[0].message.content, 'abcdabcdabcdabcdabcdabcdabcdabcd');
    const info = await a.get(`/key/info?key=${k.key}`);
    assert.equal(info.status, 200);
    assert.deepEqual(info.json.info.models, ['priced']);
    assert.deepEqual(info.json.info.metadata, { team: 'x' });
    assert.ok(!JSON.stringify(info.json.info).includes(k.key), 'the stored record has no raw key');
    assert.ok(!gw.allOutput().includes(k.key), 'the key never reaches the logs');
  });

  it('a model outside the allow-list is refused with 403', T, async () => {
    const k = await a.generate({ models: ['priced'] });
    const err = await client(gw, k.key)
      .chat.completions.create({ model: 'other', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'key_model_access_denied');
    assert.equal(err.type, 'permission_error');
  });

  it('a key sees only its allowed models in /v1/models; the master key sees all', T, async () => {
    const k = await a.generate({ models: ['priced'] });
    const restricted = await client(gw, k.key).models.list();
    assert.deepEqual(restricted.data.map((m) => m.id), ['priced']);
    const hidden = await client(gw, k.key).models.retrieve('other').catch((e) => e);
    assert.equal(hidden.status, 404);
    assert.ok(!hidden.message.includes('other,') && !hidden.message.includes(', other'), hidden.message);
    const card = await client(gw, k.key).models.retrieve('priced');
    assert.equal(card.id, 'priced');
    const all = await client(gw, masterKey).models.list();
    assert.deepEqual(all.data.map((m) => m.id).sort(), ['other', 'priced']);
  });

  it('unknown and expired keys get 401, blocked keys 403, admin routes refuse virtual keys', T, async () => {
    assert.equal(await status(client(gw, 'sk-not-a-real-key-123456').chat.completions.create(CHAT)), 401);
    const short = await a.generate({ duration: '1s' });
    assert.ok(short.expires);
    await sleep(1200);
    const expired = await client(gw, short.key).chat.completions.create(CHAT).catch((e) => e);
    assert.equal(expired.status, 401);
    assert.equal(expired.code, 'expired_key');

    const k = await a.generate({});
    assert.equal(await status(client(gw, k.key).chat.completions.create(CHAT)), 200);
    const upd = await a.post('/key/update', { key: k.key, blocked: true });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.json.blocked, true);
    const blocked = await client(gw, k.key).chat.completions.create(CHAT).catch((e) => e);
    assert.equal(blocked.status, 403);
    assert.equal(blocked.code, 'key_blocked');

    const v = await a.generate({});
    const asVirtual = await request(gw.baseUrl, { path: '/key/list', headers: { authorization: `Bearer ${v.key}` } });
    assert.equal(asVirtual.status, 403);
    assert.equal(asVirtual.json.error.code, 'admin_only');
  });

  it('over budget: the request after the budget is used up gets 403', T, async () => {
    const k = await a.generate({ max_budget: COST });
    const c = client(gw, k.key);
    assert.equal(await status(c.chat.completions.create(CHAT)), 200);
    const err = await c.chat.completions.create(CHAT).catch((e) => e);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'budget_exceeded');
    await waitFor(async () => (await keySpend(a, k.key)) === COST, 'spend to be written');
  });

  it('200 concurrent requests against a budget for 50 let exactly 50 through', T, async () => {
    const k = await a.generate({ max_budget: 50 * COST });
    const r = await burst([gw], k.key);
    assert.deepEqual(r.other, []);
    assert.equal(r.ok, 50, `${r.ok} succeeded`);
    assert.equal(r.denied, 150);
    await waitFor(async () => (await keySpend(a, k.key)) === 50 * COST, 'spend of 50 requests');
  });

  it('spend logs record every request with key, model, deployment, tokens and cost', T, async () => {
    const user = randomToken('user');
    const k = await a.generate({ user_id: user, team_id: 'team-a' });
    for (let i = 0; i < 3; i++) await client(gw, k.key).chat.completions.create(CHAT);
    const logs = await waitFor(async () => {
      const res = await a.get(`/spend/logs?api_key=${k.key}`);
      return res.json.length === 3 ? res.json : null;
    }, 'three spend rows');
    for (const row of logs) {
      assert.equal(row.api_key, k.token);
      assert.equal(row.user, user);
      assert.equal(row.team_id, 'team-a');
      assert.equal(row.model, 'priced');
      assert.equal(row.model_id, 'priced-1');
      assert.equal(row.completion_tokens, 8);
      assert.equal(row.spend, COST);
    }
    const byUser = await a.get(`/spend/logs?user_id=${user}`);
    assert.equal(byUser.json.length, 3);
    const today = new Date().toISOString().slice(0, 10);
    const summary = await a.get(`/spend/logs?start_date=${today}&end_date=${today}`);
    assert.equal(summary.status, 200);
    assert.equal(summary.json[0].startTime, today);
    assert.ok(summary.json[0].users[user] === 3 * COST);
  });

  it('key/list pages and key/delete removes keys (then 401)', T, async () => {
    const user = randomToken('lister');
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await a.generate({ user_id: user }));
    const page = await a.get(`/key/list?user_id=${user}&size=2&page=1`);
    assert.equal(page.json.total_count, 3);
    assert.equal(page.json.total_pages, 2);
    assert.equal(page.json.keys.length, 2);
    assert.equal(page.json.keys[0].length, 64, 'tokens, not keys');
    const del = await a.post('/key/delete', { keys: [made[0].key] });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.json.deleted_keys, [made[0].key]);
    assert.equal(await status(client(gw, made[0].key).chat.completions.create(CHAT)), 401);
    const missing = await a.post('/key/delete', { keys: [made[0].key] });
    assert.equal(missing.status, 404);
  });
});

describe('general_settings.disable_spend_logs', () => {
  let gw;
  let a;
  const masterKey = randomToken('sk-master');

  before(async () => {
    // store.yaml with spend logs turned off.
    const dir = tempDataDir();
    const config = path.join(dir, 'no-spend-logs.yaml');
    const base = readFileSync(configPath('store.yaml'), 'utf8');
    writeFileSync(config, base.replace('general_settings:\n', 'general_settings:\n  disable_spend_logs: true\n'));
    gw = await startGateway({ config, env: { TEST_MASTER_KEY: masterKey, SWITCHYARD_DATA_DIR: dir } });
    a = admin(gw, masterKey);
  });
  after(async () => {
    if (gw) await gw.stop();
  });

  it('master-key requests write no spend row; virtual keys still track spend and budget', T, async () => {
    for (let i = 0; i < 3; i++) await client(gw, masterKey).chat.completions.create(CHAT);
    const k = await a.generate({ max_budget: 1 });
    const plain = await a.generate({});
    await client(gw, k.key).chat.completions.create(CHAT);
    await client(gw, plain.key).chat.completions.create(CHAT);
    // The writer is batched: once the virtual keys' rows are in, the master
    // key's (written before them) would be too.
    const rows = await waitFor(async () => {
      const res = await a.get('/spend/logs');
      return res.json.length >= 2 ? res.json : null;
    }, 'the virtual keys\' spend rows');
    await sleep(300);
    const all = (await a.get('/spend/logs')).json;
    assert.equal(all.length, 2, JSON.stringify(all.map((r) => r.api_key)));
    assert.deepEqual(new Set(rows.map((r) => r.api_key)), new Set([k.token, plain.token]));
    assert.equal(await keySpend(a, k.key), COST);
    assert.equal(await keySpend(a, plain.key), COST);
  });
});

describe('virtual keys on PostgreSQL', () => {
  let pg;
  let url;
  let gwA;
  let gwB;
  let a;
  const masterKey = randomToken('sk-master');

  before(async () => {
    pg = await startPostgres();
    if (!pg) {
      process.stderr.write('\n*** PostgreSQL binaries not found: PostgreSQL integration tests SKIPPED ***\n\n');
      return;
    }
    url = pg.createDatabase('switchyard_it');
    const env = { TEST_MASTER_KEY: masterKey, DATABASE_URL: url };
    gwA = await startGateway({ config: configPath('store.yaml'), env: { ...env, LITELLM_RUN_DB_MIGRATIONS: 'true' } });
    gwB = await startGateway({ config: configPath('store.yaml'), env });
    a = admin(gwA, masterKey);
  });
  after(async () => {
    if (gwA) await gwA.stop();
    if (gwB) await gwB.stop();
    if (pg) pg.destroy();
  });

  it('a key created on one gateway works on the other; a block there takes effect within the cache TTL', T, async (t) => {
    if (!pg) return t.skip('no PostgreSQL');
    const ready = await request(gwB.baseUrl, { path: '/_health/ready' });
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.json.db, 'connected');
    const k = await a.generate({ models: ['priced'] });
    assert.equal(await status(client(gwB, k.key).chat.completions.create(CHAT)), 200);
    await a.post('/key/update', { key: k.key, blocked: true });
    const started = Date.now();
    await waitFor(
      async () => (await status(client(gwB, k.key).chat.completions.create(CHAT))) === 403,
      'gateway B to see the block',
      3000,
    );
    assert.ok(Date.now() - started <= 1500, 'key_cache_ttl_seconds is 1');
  });

  it('a budget for 50 holds across two gateways under 200 concurrent requests', T, async (t) => {
    if (!pg) return t.skip('no PostgreSQL');
    const k = await a.generate({ max_budget: 50 * COST });
    const r = await burst([gwA, gwB], k.key);
    assert.deepEqual(r.other, []);
    assert.ok(r.ok <= 50, `${r.ok} succeeded, budget is for 50`);
    assert.ok(r.ok >= 45, `${r.ok} succeeded: reservations should not strand budget`);
    await waitFor(async () => (await keySpend(a, k.key)) === r.ok * COST, 'spend written');
  });

  it('PostgreSQL stopped mid-load then restarted: no request fails and no spend row is lost', T, async (t) => {
    if (!pg) return t.skip('no PostgreSQL');
    const k = await a.generate({ max_budget: 1000 });
    const c = client(gwA, k.key);
    assert.equal(await status(c.chat.completions.create(CHAT)), 200);  // key cached
    const results = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const batch = await Promise.all(Array.from({ length: 5 }, () => status(c.chat.completions.create(CHAT))));
        results.push(...batch);
      }
    })();
    await sleep(500);
    pg.stop('fast');
    await sleep(2000);
    const during = results.length;
    pg.start();
    await sleep(1000);
    running = false;
    await load;
    assert.ok(during > 20, `load kept running during the outage (${during} requests)`);
    assert.deepEqual(results.filter((s) => s !== 200), [], 'every request succeeded');
    const expected = results.length + 1;
    await waitFor(async () => {
      const res = await a.get(`/spend/logs?api_key=${k.key}`);
      return res.status === 200 && res.json.length === expected;
    }, `${expected} spend rows after the restart`, 15_000);
    await waitFor(async () => Math.abs((await keySpend(a, k.key)) - expected * COST) < 1e-9, 'key spend');
    const metrics = await request(gwA.baseUrl, { path: '/metrics' });
    assert.match(metrics.text, /switchyard_spend_logs_dropped_total 0/);
    assert.match(metrics.text, /switchyard_spend_log_write_failures_total [1-9]/);
  });
});
