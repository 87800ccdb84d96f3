// store_model_in_db end to end: POST /model/new, /model/delete and
// GET /model/info against two gateways sharing one database (SQLite file,
// then a real PostgreSQL cluster started here). A model added on one replica
// serves there at once and on the other within the poll interval; upstream
// credentials are stored encrypted, used for the upstream call, and never
// shown; a config reload and a restart keep the database models.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { startGateway, configPath, randomToken, installExitGuard, tempDataDir } from './lib/gateway.mjs';
import { request, post, waitFor } from './lib/http.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { startFakeUpstream, CHAT_REPLY } from './fake_upstream.mjs';

installExitGuard();
const T = { timeout: 60_000 };
const POLL_MS = 500; // model_db_poll_seconds in configs/model_db.yaml


function modelDbSuite(name, setup) {
  describe(name, () => {
    let ctx;
    const masterKey = randomToken('sk-master');
    const auth = { authorization: `Bearer ${masterKey}` };
    const upstreamKey = randomToken('sk-upstream-secret');
    let upstream;
    const chat = (gw, model, headers = auth) =>
      post(gw.baseUrl, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, { headers });
    const info = async (gw, headers = auth) => {
      const res = await request(gw.baseUrl, { path: '/model/info', headers });
      assert.equal(res.status, 200, res.text);
      return res.json.data;
    };

    before(async () => {
      upstream = await startFakeUpstream();
      ctx = await setup(masterKey);
    });
    after(async () => {
      await ctx?.gwA?.stop();
      await ctx?.gwB?.stop();
      ctx?.cleanup?.();
      await upstream?.close();
    });

    it('a model added on one gateway serves there at once and on the other within the poll interval', T, async (t) => {
      if (!ctx) return t.skip('no database');
      const { gwA, gwB } = ctx;
      const added = await post(gwA.baseUrl, '/model/new', {
        model_name: 'db-model',
        litellm_params: { model: 'openai/normal', api_base: upstream.baseUrl, api_key: upstreamKey, rpm: 100 },
        model_info: { id: 'db-1', mode: 'chat' },
      }, { headers: auth });
      assert.equal(added.status, 200, added.text);
      assert.equal(added.json.model_id, 'db-1');
      assert.equal(added.json.model_info.db_model, true);
      assert.ok(!added.text.includes(upstreamKey), 'the answer never shows the credential');

      // Served on A before the answer came back; the gateway decrypted the key.
      const onA = await chat(gwA, 'db-model');
      assert.equal(onA.status, 200, onA.text);
      assert.equal(onA.json.choices[0].message.content, CHAT_REPLY);
      assert.equal(onA.headers['x-litellm-model-id'], 'db-1');
      assert.equal(upstream.requests.at(-1).headers.authorization, `Bearer ${upstreamKey}`);

      const started = Date.now();
      await waitFor(async () => (await chat(gwB, 'db-model')).status === 200, 'gateway B to serve db-model');
      assert.ok(Date.now() - started <= POLL_MS * 4 + 500, `took ${Date.now() - started} ms`);

      // The official client lists it too.
      const client = new OpenAI({ apiKey: masterKey, baseURL: `${gwB.baseUrl}/v1`, maxRetries: 0 });
      const ids = (await client.models.list()).data.map((m) => m.id);
      assert.ok(ids.includes('db-model') && ids.includes('file-model'), ids.join(','));

      // /model/info: both sources, flagged, credentials never shown.
      const rows = await info(gwB);
      const db = rows.find((r) => r.model_info.id === 'db-1');
      const file = rows.find((r) => r.model_info.id === 'file-1');
      assert.equal(db.model_info.db_model, true);
      assert.equal(file.model_info.db_model, false);
      assert.equal(db.litellm_params.api_key, undefined);
      assert.equal(db.litellm_params.rpm, 100);
      assert.ok(!JSON.stringify(rows).includes(upstreamKey));
      const one = await request(gwB.baseUrl, { path: '/v1/model/info?litellm_model_id=db-1', headers: auth });
      assert.deepEqual(one.json.data.map((r) => r.model_info.id), ['db-1']);

      // Stored encrypted: the plaintext is nowhere in the database.
      if (ctx.rawDatabase) assert.ok(!ctx.rawDatabase().includes(upstreamKey), 'api_key stored in the clear');
    });

    it('a config reload and a restart keep the database models', T, async (t) => {
      if (!ctx) return t.skip('no database');
      const reload = await post(ctx.gwA.baseUrl, '/config/reload', {}, { headers: auth });
      assert.equal(reload.status, 200, reload.text);
      assert.equal((await chat(ctx.gwA, 'db-model')).status, 200);
      await ctx.gwB.stop();
      ctx.gwB = await ctx.restartB();
      const onB = await chat(ctx.gwB, 'db-model');
      assert.equal(onB.status, 200, onB.text);
      assert.equal(upstream.requests.at(-1).headers.authorization, `Bearer ${upstreamKey}`);
    });

    it('a row sealed with another key is skipped and counted; everything else keeps serving', T, async (t) => {
      if (!ctx?.startWith) return t.skip('run on the SQLite suite');
      // db-1 was sealed with the master key (no LITELLM_SALT_KEY): a replica
      // with a different salt key cannot open it.
      const other = await ctx.startWith({ LITELLM_SALT_KEY: randomToken('other-salt') });
      try {
        const text = (await request(other.baseUrl, { path: '/metrics' })).text;
        const line = text.split('\n').find((l) => l.startsWith('switchyard_db_model_skipped_rows '));
        assert.ok(Number(line?.split(' ')[1]) >= 1, line);
        assert.equal((await chat(other, 'db-model')).status, 400);
        assert.equal((await chat(other, 'file-model')).status, 200);
        assert.ok(other.stderrLines.some((l) => l.includes('database model skipped') && l.includes('db-1')));
        assert.ok(!other.stderrLines.some((l) => l.includes(upstreamKey)));
      } finally {
        await other.stop();
      }
    });

    it('refuses bad input with OpenAI-shaped errors, and virtual keys', T, async (t) => {
      if (!ctx) return t.skip('no database');
      const { gwA } = ctx;
      const bad = await post(gwA.baseUrl, '/model/new', { model_name: 'x', litellm_params: { model: 'mock/x', rpm: 'lots' } }, { headers: auth });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.json.error.code, 'invalid_model');
      assert.match(bad.json.error.message, /litellm_params\.rpm/);
      const notJson = await request(gwA.baseUrl, { method: 'POST', path: '/model/new', headers: { ...auth, 'content-type': 'application/json' }, body: '{' });
      assert.equal(notJson.status, 400);
      assert.equal(notJson.json.error.code, 'invalid_json');
      const dup = await post(gwA.baseUrl, '/model/new', { model_name: 'y', litellm_params: { model: 'mock/y' }, model_info: { id: 'file-1' } }, { headers: auth });
      assert.equal(dup.status, 400);
      assert.equal(dup.json.error.code, 'model_id_exists');
      const fileDelete = await post(gwA.baseUrl, '/model/delete', { id: 'file-1' }, { headers: auth });
      assert.equal(fileDelete.status, 400);
      assert.equal(fileDelete.json.error.code, 'model_in_config_file');
      const missing = await post(gwA.baseUrl, '/model/delete', { id: 'no-such-model' }, { headers: auth });
      assert.equal(missing.status, 404);

      const key = await post(gwA.baseUrl, '/key/generate', { models: ['file-model'] }, { headers: auth });
      assert.equal(key.status, 200, key.text);
      const asKey = { authorization: `Bearer ${key.json.key}` };
      const refused = await post(gwA.baseUrl, '/model/new', { model_name: 'z', litellm_params: { model: 'mock/z' } }, { headers: asKey });
      assert.equal(refused.status, 403);
      // A virtual key sees only the models it may use.
      const visible = await info(gwA, asKey);
      assert.deepEqual(visible.map((r) => r.model_name), ['file-model']);
      // Still serving.
      assert.equal((await chat(gwA, 'file-model')).status, 200);
    });

    it('a model deleted on one gateway is gone there at once and on the other within the poll interval', T, async (t) => {
      if (!ctx) return t.skip('no database');
      const { gwA, gwB } = ctx;
      // Generated id when model_info has none.
      const added = await post(gwA.baseUrl, '/model/new', { model_name: 'temp', litellm_params: { model: 'mock/temp', mock_response: 'temp' } }, { headers: auth });
      assert.equal(added.status, 200, added.text);
      const id = added.json.model_id;
      assert.match(id, /^[0-9a-f-]{36}$/);
      await waitFor(async () => (await chat(gwB, 'temp')).status === 200, 'gateway B to serve temp');
      const del = await post(gwA.baseUrl, '/model/delete', { id }, { headers: auth });
      assert.equal(del.status, 200, del.text);
      assert.equal(del.json.message, `Model: ${id} deleted successfully`);
      assert.equal((await chat(gwA, 'temp')).status, 400);
      await waitFor(async () => (await chat(gwB, 'temp')).status === 400, 'gateway B to drop temp');
      assert.ok(!(await info(gwB)).some((r) => r.model_info.id === id));
    });

    it('database down: the models read last keep serving, changes get 503, failed polls are counted', T, async (t) => {
      if (!ctx?.stopDb) return t.skip('PostgreSQL only (SQLite cannot be taken down)');
      const { gwA } = ctx;
      const failures = async () => {
        const text = (await request(gwA.baseUrl, { path: '/metrics' })).text;
        const line = text.split('\n').find((l) => l.startsWith('switchyard_db_model_read_failures_total '));
        return Number(line?.split(' ')[1]);
      };
      const before = await failures();
      ctx.stopDb();
      try {
        await waitFor(async () => (await failures()) > before, 'a failed model-table poll', 5000);
        assert.equal((await chat(gwA, 'db-model')).status, 200);
        assert.equal((await chat(gwA, 'file-model')).status, 200);
        const add = await post(gwA.baseUrl, '/model/new', { model_name: 'late', litellm_params: { model: 'mock/late' } }, { headers: auth });
        assert.equal(add.status, 503, add.text);
        assert.equal(add.json.error.code, 'db_unavailable');
      } finally {
        ctx.startDb();
      }
      await waitFor(async () => (await post(gwA.baseUrl, '/model/new', { model_name: 'late', litellm_params: { model: 'mock/late' } }, { headers: auth })).status === 200, 'model/new after the database is back', 15_000);
    });
  });
}

modelDbSuite('store_model_in_db on SQLite (two gateways, one file)', async (masterKey) => {
  const dataDir = tempDataDir();
  const env = { TEST_MASTER_KEY: masterKey, SWITCHYARD_DATA_DIR: dataDir };
  const start = () => startGateway({ config: configPath('model_db.yaml'), env });
  const dbFile = path.join(dataDir, 'switchyard.db');
  return {
    gwA: await start(),
    gwB: await start(),
    restartB: start,
    startWith: (extra) => startGateway({ config: configPath('model_db.yaml'), env: { ...env, ...extra } }),
    rawDatabase: () =>
      [dbFile, `${dbFile}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join(''),
  };
});

modelDbSuite('store_model_in_db on PostgreSQL (two gateways)', async (masterKey) => {
  const pg = await startPostgres();
  if (!pg) {
    process.stderr.write('\n*** PostgreSQL binaries not found: PostgreSQL model tests SKIPPED ***\n\n');
    return null;
  }
  const url = pg.createDatabase('switchyard_models_it');
  const env = { TEST_MASTER_KEY: masterKey, DATABASE_URL: url };
  const start = () => startGateway({ config: configPath('model_db.yaml'), env });
  return {
    gwA: await startGateway({ config: configPath('model_db.yaml'), env: { ...env, LITELLM_RUN_DB_MIGRATIONS: 'true' } }),
    gwB: await start(),
    restartB: start,
    cleanup: () => pg.destroy(),
    stopDb: () => pg.stop(),
    startDb: () => pg.start(),
  };
});
