// Config lifecycle against a real S3 API server on loopback (moto_server or
// s3rver, see lib/s3.mjs) with objects uploaded by the AWS CLI: startup load
// from S3, change detection within the poll interval, an invalid config
// rejected while the old one keeps serving, settings that need a restart,
// a router model object replaced under load with no failed request, and the
// S3 server stopped and restarted. Also: local-file hot reload with a
// request in flight, the startup fallback when S3 is unreachable, and the
// GCS path (HMAC keys through the S3-compatible XML API) against the same
// S3 server: an honest stand-in for GCS only in that it speaks the same
// XML API; no GCS emulator runs here.

import { trainRouter } from './lib/routers.mjs';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, renameSync, rmSync, existsSync, unlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGateway, randomToken, runCli, installExitGuard, tempDataDir } from './lib/gateway.mjs';
import { post, request, parsePrometheus, sleep, waitFor } from './lib/http.mjs';
import { availableS3Server, startS3Server, freePort } from './lib/s3.mjs';

installExitGuard();

const T = { timeout: 60_000 };
const CODE_PROMPT = 'please write python code for a parser with a function';
const INTERVAL_S = 0.5;

const s3choice = availableS3Server();
if (!s3choice.kind) {
  // Loud on purpose: these tests are skipped only when no S3 server exists.
  process.stderr.write(`\n*** config_sync tests SKIPPED: ${s3choice.why} ***\n\n`);
}
const skip = s3choice.kind ? false : s3choice.why;

const train = trainRouter;

function gatewayYaml({ extraGroup = '', port, routerObject } = {}) {
  return `
model_list:
  - model_name: cheap
    litellm_params: {model: mock/cheap-model, mock_response: "cheap answer"}
    model_info: {id: cheap-1}
  - model_name: coder
    litellm_params: {model: mock/coder-model, mock_response: "coder answer"}
    model_info: {id: coder-1}
  - model_name: big
    litellm_params: {model: mock/big-model, mock_response: "big answer"}
    model_info: {id: big-1}
${extraGroup ? `  - model_name: ${extraGroup}\n    litellm_params: {model: mock/${extraGroup}, mock_response: "${extraGroup} answer"}\n` : ''}
router_settings:
  routing_strategy: llmrouter-knn
  routing_strategy_args:
    model_path: ${routerObject}
    hot_reload: true
    reload_interval: 0.3
    cost_weight: 0
general_settings:
  master_key: os.environ/TEST_MASTER_KEY
${port ? `switchyard_settings:\n  port: ${port}\n` : ''}`;
}

async function metric(gw, name, labels) {
  const res = await request(gw.baseUrl, { path: '/metrics' });
  const found = parsePrometheus(res.text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value;
}

const until = (what, check, timeoutMs = 15_000) => waitFor(check, what, timeoutMs);

describe(`config and router model from S3 (${s3choice.kind ?? 'no S3 server'})`, { skip }, () => {
  let s3;
  let dir;
  let gw;
  let dataDir;
  let routerA;
  let routerB;
  const bucket = 'switchyard-config';
  const configKey = 'gateway/config.yaml';
  const modelKey = 'routers/knn/model.syr';
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };
  const models = async () => (await request(gw.baseUrl, { path: '/v1/models', headers: auth })).json.data.map((m) => m.id);
  const status = async () => (await request(gw.baseUrl, { path: '/config/sync/status', headers: auth })).json;
  const routerInfo = async () => (await request(gw.baseUrl, { path: '/router/info', headers: auth })).json;
  const chat = (content, model = 'auto') =>
    post(gw.baseUrl, '/v1/chat/completions', { model, messages: [{ role: 'user', content }] }, { headers: auth });
  const uploadConfig = async (text) => {
    const file = path.join(dir, `config-${Date.now()}.yaml`);
    writeFileSync(file, text);
    return s3.upload(bucket, configKey, file);
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-sync-'));
    routerA = await train(dir, 'router-a', false);
    routerB = await train(dir, 'router-b', true);
    s3 = await startS3Server(s3choice.kind);
    await s3.makeBucket(bucket);
    await s3.upload(bucket, modelKey, routerA);
    await uploadConfig(gatewayYaml({ routerObject: `s3://${bucket}/${modelKey}` }));
    // The local file names other groups: it must not be what is served.
    const local = path.join(dir, 'local.yaml');
    writeFileSync(local, 'model_list:\n  - model_name: local-only\n    litellm_params: {model: mock/x}\n');
    dataDir = tempDataDir();
    gw = await startGateway({
      config: local,
      env: {
        ...s3.env,
        TEST_MASTER_KEY: masterKey,
        CONFIG_S3_BUCKET: bucket,
        CONFIG_S3_KEY: configKey,
        CONFIG_HOT_RELOAD: 'true',
        CONFIG_SYNC_INTERVAL: String(INTERVAL_S),
        SWITCHYARD_DATA_DIR: dataDir,
      },
      startupTimeoutMs: 30_000,
    });
  });
  after(async () => {
    if (gw) await gw.stop();
    if (s3) {
      await s3.stop();
      s3.cleanup();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads the config and the router model from S3 at startup', T, async () => {
    assert.deepEqual(await models(), ['cheap', 'coder', 'big', 'auto']);
    const st = await status();
    assert.equal(st.source, 's3');
    assert.equal(st.location, `s3://${bucket}/${configKey}`);
    const head = JSON.parse(await s3.aws(['s3api', 'head-object', '--bucket', bucket, '--key', configKey]));
    assert.equal(st.version, head.ETag);
    assert.equal(st.last_error, null);
    assert.equal(st.hot_reload, true);

    const info = await routerInfo();
    assert.equal(info.loaded, true);
    assert.equal(info.object, `s3://${bucket}/${modelKey}`);
    // Downloaded into the data dir, nowhere else.
    assert.ok(info.file.startsWith(dataDir), info.file);
    assert.ok(existsSync(info.file));
    const code = await chat(CODE_PROMPT);
    assert.equal(code.status, 200, code.text);
    assert.equal(code.json.choices[0].message.content, 'coder answer');
    // Secrets never reach the logs.
    assert.ok(!gw.allOutput().includes(masterKey));
  });

  it('applies a changed config object within the poll interval', T, async () => {
    const etag = await uploadConfig(gatewayYaml({ extraGroup: 'extra', routerObject: `s3://${bucket}/${modelKey}` }));
    const uploaded = Date.now();
    await until('the new group', async () => (await models()).includes('extra'), 10_000);
    // One interval plus the reload itself; generous for a shared machine.
    assert.ok(Date.now() - uploaded < INTERVAL_S * 1000 + 3000, `took ${Date.now() - uploaded} ms`);
    const st = await status();
    assert.equal(st.version, etag);
    assert.equal(st.reload_count, 1);
    assert.equal(await metric(gw, 'config_reloads_total', { source: 's3', result: 'success' }), 1);
    assert.ok((await metric(gw, 'config_last_successful_sync_timestamp_seconds', { source: 's3' })) > Date.now() / 1000 - 30);
    // routing_strategy_args did not change: the same router object is kept.
    assert.equal((await routerInfo()).loaded, true);
    const res = await chat('hi', 'extra');
    assert.equal(res.json.choices[0].message.content, 'extra answer');
  });

  it('rejects an invalid config object and keeps serving the old one', T, async () => {
    const before = await models();
    const etag = await uploadConfig('model_list:\n  - model_name: broken\n    litellm_params: {rpm: 5}\n');
    await until('the rejection', async () => (await status()).rejected_version === etag, 10_000);
    assert.deepEqual(await models(), before);
    const st = await status();
    assert.match(st.last_error, /model_list\[0\]\.litellm_params\.model: required/);
    assert.equal(await metric(gw, 'config_reloads_total', { source: 's3', result: 'failure' }), 1);

    const api = await post(gw.baseUrl, '/config/reload', {}, { headers: auth });
    assert.equal(api.status, 400, api.text);
    assert.equal(api.json.error.code, 'invalid_config');
    assert.equal(api.json.error.param, 'model_list[0].litellm_params.model');
    assert.deepEqual(await models(), before);
    const served = await chat('hi', 'extra');
    assert.equal(served.status, 200);
  });

  it('reports settings that need a restart instead of ignoring them', T, async () => {
    const etag = await uploadConfig(gatewayYaml({ extraGroup: 'extra', port: 4999, routerObject: `s3://${bucket}/${modelKey}` }));
    // Hot reload applies it (the port part waits for a restart)...
    await until('the hot reload', async () => (await status()).version === etag, 10_000);
    assert.deepEqual((await status()).restart_required, ['switchyard_settings.port: 4000 -> 4999']);
    // ...and a later reload still reports it: the process listens where it started.
    const api = await post(gw.baseUrl, '/config/reload', {}, { headers: auth });
    assert.equal(api.status, 200, api.text);
    assert.deepEqual(api.json.restart_required, ['switchyard_settings.port: 4000 -> 4999']);
    assert.equal(api.json.router, 'kept');
    assert.deepEqual(api.json.deployments.removed, []);
    assert.ok(api.json.deployments.kept.includes('cheap-1'));
    assert.deepEqual((await status()).restart_required, ['switchyard_settings.port: 4000 -> 4999']);
    await gw.waitFor(() => gw.stderrLines.some((l) => l.includes('needs a restart') && l.includes('switchyard_settings.port')), 3000, 'restart warning');
    // Only the master key may reload.
    const anon = await post(gw.baseUrl, '/config/reload', {});
    assert.equal(anon.status, 401);
  });

  it('replaces the router model object under load with no failed request', T, async () => {
    const before = await routerInfo();
    let stop = false;
    const statuses = [];
    const loops = [0, 1, 2].map(async () => {
      while (!stop) {
        const res = await chat(CODE_PROMPT);
        statuses.push(res.status);
      }
    });
    await sleep(300);
    await s3.upload(bucket, modelKey, routerB);
    const after = await until('the new router', async () => {
      const i = await routerInfo();
      return i.checksum !== before.checksum ? i : null;
    });
    await sleep(300);
    stop = true;
    await Promise.all(loops);
    assert.ok(statuses.length > 10, `only ${statuses.length} requests`);
    assert.deepEqual(statuses.filter((s) => s !== 200), []);
    assert.notEqual(after.object_etag, before.object_etag);
    // Router B is the mirror image: code prompts go to cheap now.
    const res = await chat(CODE_PROMPT);
    assert.equal(res.json.choices[0].message.content, 'cheap answer');

    // POST /router/reload downloads again even when the ETag is unchanged.
    unlinkSync(after.file);
    const reload = await post(gw.baseUrl, '/router/reload', {}, { headers: auth });
    assert.equal(reload.status, 200, reload.text);
    assert.ok(existsSync(after.file));
    assert.deepEqual(readFileSync(after.file), readFileSync(routerB));
  });

  it('keeps serving while S3 is down and recovers when it is back', T, async () => {
    await s3.stop();
    await until('a sync failure', async () => (await status()).consecutive_failures >= 1, 10_000);
    const down = await status();
    assert.ok(down.last_error, 'last_error is set');
    assert.ok((await metric(gw, 'config_sync_errors_total', { source: 's3' })) >= 1);
    for (let i = 0; i < 5; i++) {
      const res = await chat(CODE_PROMPT);
      assert.equal(res.status, 200, res.text);
    }
    // A forced reload says the source is unreachable; the config stays.
    const api = await post(gw.baseUrl, '/config/reload', {}, { headers: auth, timeoutMs: 60_000 });
    assert.equal(api.status, 503, api.text);
    assert.equal(api.json.error.code, 'config_source_unavailable');
    assert.ok((await models()).includes('extra'));

    await s3.start();
    await s3.makeBucket(bucket); // moto starts empty
    await s3.upload(bucket, modelKey, routerB);
    await uploadConfig(gatewayYaml({ extraGroup: 'back', routerObject: `s3://${bucket}/${modelKey}` }));
    // Backoff is at most 8 intervals.
    await until('recovery', async () => (await models()).includes('back'), 20_000);
    const st = await status();
    assert.equal(st.last_error, null);
    assert.equal(st.consecutive_failures, 0);
  });
});

describe('local config file: hot reload and POST /config/reload', () => {
  let dir;
  let file;
  let gw;
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };
  const yaml = (groups) =>
    `model_list:\n${groups
      .map((g) => `  - model_name: ${g}\n    litellm_params: {model: mock/${g}, mock_response: "${g} answer", mock_latency_ms: ${g === 'slow' ? 1500 : 0}}\n    model_info: {id: ${g}-1}\n`)
      .join('')}general_settings:\n  master_key: os.environ/TEST_MASTER_KEY\n`;
  const install = (text) => {
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  };
  const models = async () => (await request(gw.baseUrl, { path: '/v1/models', headers: auth })).json.data.map((m) => m.id);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-hot-'));
    file = path.join(dir, 'config.yaml');
    install(yaml(['fast', 'slow']));
    gw = await startGateway({
      config: file,
      env: { TEST_MASTER_KEY: masterKey, CONFIG_HOT_RELOAD: 'true', CONFIG_SYNC_INTERVAL: '0.3' },
    });
  });
  after(async () => {
    if (gw) await gw.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lets a request in flight finish on the old config while the new one serves new requests', T, async () => {
    const inFlight = post(gw.baseUrl, '/v1/chat/completions', { model: 'slow', messages: [{ role: 'user', content: 'x' }] }, { headers: auth });
    await sleep(200);
    install(yaml(['fast', 'newer']));
    await until('the file change', async () => (await models()).includes('newer'), 5000);
    const gone = await post(gw.baseUrl, '/v1/chat/completions', { model: 'slow', messages: [{ role: 'user', content: 'x' }] }, { headers: auth });
    assert.ok(gone.status === 400 || gone.status === 404, gone.text);
    const old = await inFlight;
    assert.equal(old.status, 200, old.text);
    assert.equal(old.json.choices[0].message.content, 'slow answer');
    const st = (await request(gw.baseUrl, { path: '/config/sync/status', headers: auth })).json;
    assert.equal(st.source, 'file');
    assert.match(st.version, /^sha256:[0-9a-f]{16}$/);
  });

  it('rejects an invalid file with the key path and keeps the old config', T, async () => {
    install('model_list:\n  - model_name: a\n    litellm_params: {model: mock/a, rpm: lots}\n');
    const api = await post(gw.baseUrl, '/config/reload', {}, { headers: auth });
    assert.equal(api.status, 400, api.text);
    assert.equal(api.json.error.param, 'model_list[0].litellm_params.rpm');
    assert.deepEqual(await models(), ['fast', 'newer']);
  });
});

describe('startup when the config object cannot be read', { skip }, () => {
  it('falls back to the local file, says why, and keeps trying S3', T, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-fallback-'));
    const local = path.join(dir, 'local.yaml');
    writeFileSync(local, 'model_list:\n  - model_name: local-only\n    litellm_params: {model: mock/x}\n');
    const closed = await freePort();
    const gw = await startGateway({
      config: local,
      env: {
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${closed}`,
        CONFIG_S3_BUCKET: 'nowhere',
        CONFIG_S3_KEY: 'config.yaml',
        CONFIG_SYNC_INTERVAL: '0.3',
      },
      startupTimeoutMs: 30_000,
    });
    try {
      const models = (await request(gw.baseUrl, { path: '/v1/models' })).json.data.map((m) => m.id);
      assert.deepEqual(models, ['local-only']);
      const st = (await request(gw.baseUrl, { path: '/config/sync/status' })).json;
      assert.equal(st.source, 's3');
      assert.equal(st.version, null);
      assert.match(st.last_error, /s3:\/\/nowhere\/config\.yaml/);
      assert.ok(gw.stderrLines.some((l) => l.includes('falling back to the local config')));
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config from GCS through its S3-compatible XML API (HMAC keys; stand-in: the same S3 server)', { skip }, () => {
  it('loads CONFIG_GCS_BUCKET / CONFIG_GCS_KEY from the CONFIG_GCS_ENDPOINT', T, async () => {
    const s3 = await startS3Server(s3choice.kind);
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-gcs-'));
    let gw;
    try {
      await s3.makeBucket('gcs-bucket');
      const file = path.join(dir, 'c.yaml');
      writeFileSync(file, 'model_list:\n  - model_name: from-gcs\n    litellm_params: {model: mock/x}\n');
      const etag = await s3.upload('gcs-bucket', 'gw/c.yaml', file);
      const local = path.join(dir, 'local.yaml');
      writeFileSync(local, 'model_list:\n  - model_name: local-only\n    litellm_params: {model: mock/x}\n');
      gw = await startGateway({
        config: local,
        env: {
          CONFIG_GCS_BUCKET: 'gcs-bucket',
          CONFIG_GCS_KEY: 'gw/c.yaml',
          CONFIG_GCS_ENDPOINT: s3.endpoint,
          // The stand-in's own key pair (s3rver checks the key id).
          GCS_HMAC_ACCESS_ID: 'S3RVER',
          GCS_HMAC_SECRET: 'S3RVER',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      });
      const models = (await request(gw.baseUrl, { path: '/v1/models' })).json.data.map((m) => m.id);
      assert.deepEqual(models, ['from-gcs']);
      const st = (await request(gw.baseUrl, { path: '/config/sync/status' })).json;
      assert.equal(st.source, 'gcs');
      assert.equal(st.location, 'gs://gcs-bucket/gw/c.yaml');
      assert.equal(st.version, etag);
    } finally {
      if (gw) await gw.stop();
      await s3.stop();
      s3.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
