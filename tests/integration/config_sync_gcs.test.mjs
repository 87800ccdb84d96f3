// Config from Google Cloud Storage with a service-account key
// (GOOGLE_APPLICATION_CREDENTIALS).
//
// STAND-IN, NOT GOOGLE: nothing here talks to Google. lib/fake_gcs.mjs is a
// small fake of Google's OAuth 2.0 token endpoint and of the GCS XML API
// object download, written for these tests from Google's documented formats.
// It is honest in the parts that matter for the gateway: it checks the JWT
// assertion's RS256 signature with the service account's public key (the key
// pair is generated here and the JSON key file written to a temp dir), its
// header and claims, serves objects only with a Bearer token it issued that
// has not expired, and answers If-None-Match with 304. What it cannot show:
// that Google accepts the same requests (IAM, real token lifetimes, the
// production XML API's headers). The unit tests check the JWT on its own
// (tests/unit/google_credentials_test.cpp).
//
// Covered: startup load, a change applied within CONFIG_SYNC_INTERVAL,
// short-lived tokens refreshed before they expire, a broken or wrong key
// file (clear error, the last good config keeps serving, recovery), the
// storage endpoint down and back, a missing key file at startup, a learned
// router artefact at a gs:// model_path (downloaded into the data dir and
// replaced under hot reload), and the emulator path (STORAGE_EMULATOR_HOST:
// no authentication).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGateway, randomToken, installExitGuard, tempDataDir } from './lib/gateway.mjs';
import { post, request, parsePrometheus, sleep, waitFor } from './lib/http.mjs';
import { startFakeGcs, READ_ONLY_SCOPE } from './lib/fake_gcs.mjs';
import { trainRouter, CODE_PROMPT } from './lib/routers.mjs';

installExitGuard();

const T = { timeout: 60_000 };
const INTERVAL_S = 0.5;
const TOKEN_LIFETIME_S = 2;
const BUCKET = 'switchyard-gcs-config';
const OBJECT = 'gateway/config.yaml';

function newKeyPair() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** A service account: its key pair and the JSON key file Google would hand out. */
function serviceAccount(dir) {
  const { publicKey, privateKey } = newKeyPair();
  const account = {
    client_email: 'switchyard-config@example-project.iam.gserviceaccount.com',
    private_key_id: randomBytes(20).toString('hex'),
    publicKeyPem: publicKey,
  };
  const keyFile = path.join(dir, 'service-account.json');
  const keyJson = (tokenUri, pem = privateKey) =>
    JSON.stringify({
      type: 'service_account',
      project_id: 'example-project',
      private_key_id: account.private_key_id,
      private_key: pem,
      client_email: account.client_email,
      client_id: '100000000000000000001',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: tokenUri,
    });
  return { account, keyFile, privateKey, keyJson };
}

function yaml(groups) {
  return `model_list:\n${groups
    .map((g) => `  - model_name: ${g}\n    litellm_params: {model: mock/${g}, mock_response: "${g} answer"}\n    model_info: {id: ${g}-1}\n`)
    .join('')}general_settings:\n  master_key: os.environ/TEST_MASTER_KEY\n`;
}

const until = (what, check, timeoutMs = 15_000) => waitFor(check, what, timeoutMs);

describe('config from GCS with a service account (stand-in: lib/fake_gcs.mjs, not Google)', () => {
  let dir;
  let sa;
  let gcs;
  let gw;
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };
  const models = async () => (await request(gw.baseUrl, { path: '/v1/models', headers: auth })).json.data.map((m) => m.id);
  const status = async () => (await request(gw.baseUrl, { path: '/config/sync/status', headers: auth })).json;
  const chat = (model) => post(gw.baseUrl, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, { headers: auth });
  const unauthorized = () => gcs.objectRequests.filter((r) => r.status === 401);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-gcs-sa-'));
    sa = serviceAccount(dir);
    gcs = await startFakeGcs({ account: sa.account, tokenLifetimeS: TOKEN_LIFETIME_S });
    writeFileSync(sa.keyFile, sa.keyJson(gcs.tokenUri));
    gcs.put(BUCKET, OBJECT, yaml(['alpha', 'beta']));
    const local = path.join(dir, 'local.yaml');
    writeFileSync(local, 'model_list:\n  - model_name: local-only\n    litellm_params: {model: mock/x}\n');
    gw = await startGateway({
      config: local,
      env: {
        TEST_MASTER_KEY: masterKey,
        CONFIG_GCS_BUCKET: BUCKET,
        CONFIG_GCS_KEY: OBJECT,
        CONFIG_GCS_ENDPOINT: gcs.endpoint,
        GOOGLE_APPLICATION_CREDENTIALS: sa.keyFile,
        // Present but not used: the service account comes before AWS keys.
        AWS_ACCESS_KEY_ID: 'AKIDNOTFORGCS',
        AWS_SECRET_ACCESS_KEY: 'not-for-gcs',
        CONFIG_HOT_RELOAD: 'true',
        CONFIG_SYNC_INTERVAL: String(INTERVAL_S),
      },
      startupTimeoutMs: 30_000,
    });
  });
  after(async () => {
    if (gw) await gw.stop();
    if (gcs) await gcs.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads the config object at startup with a token from the key file', T, async () => {
    assert.deepEqual(await models(), ['alpha', 'beta']);
    const st = await status();
    assert.equal(st.source, 'gcs');
    assert.equal(st.location, `gs://${BUCKET}/${OBJECT}`);
    assert.equal(st.auth, 'service_account');
    assert.equal(st.endpoint, gcs.endpoint);
    assert.match(st.version, /^"[0-9a-f]{32}"$/);
    assert.equal(st.last_error, null);
    assert.ok(gcs.tokens.length >= 1, 'a token was issued');
    assert.equal(gcs.tokens[0].scope, READ_ONLY_SCOPE);
    assert.deepEqual(gcs.rejectedGrants, []);
    assert.deepEqual(unauthorized(), []);
    const ok = await chat('alpha');
    assert.equal(ok.status, 200, ok.text);
    // Neither the private key nor an access token reaches the logs.
    const out = gw.allOutput();
    assert.ok(!out.includes('BEGIN PRIVATE KEY'));
    for (const t of gcs.tokens) assert.ok(!out.includes(t.token));
  });

  it('applies a changed object within the poll interval', T, async () => {
    const { etag } = gcs.put(BUCKET, OBJECT, yaml(['alpha', 'beta', 'gamma']));
    const changed = Date.now();
    await until('the new group', async () => (await models()).includes('gamma'), 10_000);
    assert.ok(Date.now() - changed < INTERVAL_S * 1000 + 3000, `took ${Date.now() - changed} ms`);
    const st = await status();
    assert.equal(st.version, etag);
    assert.equal(st.reload_count, 1);
    // Unchanged polls are conditional: 304s, not full downloads.
    assert.ok(gcs.objectRequests.some((r) => r.status === 304));
  });

  it('fetches a new token before the short-lived one expires and reuses it meanwhile', T, async () => {
    const since = Date.now();
    const tokensBefore = gcs.tokens.length;
    await sleep(TOKEN_LIFETIME_S * 1000 * 2 + 500);
    const issued = gcs.tokens.slice(tokensBefore);
    const requests = gcs.objectRequests.filter((r) => r.at >= since);
    assert.ok(issued.length >= 2, `only ${issued.length} new tokens in ${Date.now() - since} ms`);
    // Every poll in the window was served: no request ever carried an expired token.
    assert.ok(requests.length >= 4, `only ${requests.length} polls`);
    assert.deepEqual(unauthorized(), []);
    assert.ok(requests.every((r) => r.status === 304 || r.status === 200));
    // Cached, not one token per request.
    const distinct = new Set(requests.map((r) => r.token));
    assert.ok(distinct.size < requests.length, `${distinct.size} tokens for ${requests.length} requests`);
    assert.equal((await status()).consecutive_failures, 0);
  });

  it('reports a broken key file, keeps the last good config, and recovers', T, async () => {
    const served = await models();
    const goodKey = sa.keyJson(gcs.tokenUri);
    const errorsBefore = (await status()).sync_errors;

    // Not JSON at all.
    writeFileSync(sa.keyFile, '{ this is not a key file');
    const broken = await until('the key file error', async () => {
      const st = await status();
      return st.last_error?.includes('GOOGLE_APPLICATION_CREDENTIALS') ? st : null;
    });
    assert.equal(broken.last_error, `gs://${BUCKET}/${OBJECT}: service-account token: GOOGLE_APPLICATION_CREDENTIALS (${sa.keyFile}): not a JSON object`);
    assert.ok(broken.consecutive_failures >= 1);
    assert.ok(broken.sync_errors > errorsBefore);
    assert.deepEqual(await models(), served);
    assert.equal((await chat('gamma')).status, 200);

    // A well-formed key the token endpoint does not accept (another key pair).
    const other = newKeyPair();
    writeFileSync(sa.keyFile, sa.keyJson(gcs.tokenUri, other.privateKey));
    const refused = await until('the refused grant', async () => {
      const st = await status();
      return st.last_error?.includes('invalid_grant') ? st : null;
    });
    assert.match(refused.last_error, new RegExp(`token request to ${gcs.tokenUri} failed: HTTP 400 invalid_grant: Invalid JWT Signature\\.`));
    assert.ok(gcs.rejectedGrants.includes('Invalid JWT Signature.'));
    // A change made meanwhile cannot be read, so it is not applied...
    gcs.put(BUCKET, OBJECT, yaml(['alpha', 'delta']));
    const api = await post(gw.baseUrl, '/config/reload', {}, { headers: auth, timeoutMs: 30_000 });
    assert.equal(api.status, 503, api.text);
    assert.equal(api.json.error.code, 'config_source_unavailable');
    assert.match(api.json.error.message, /invalid_grant/);
    assert.deepEqual(await models(), served);
    const metrics = parsePrometheus((await request(gw.baseUrl, { path: '/metrics' })).text);
    assert.ok(metrics.find((s) => s.name === 'config_sync_errors_total' && s.labels.source === 'gcs').value >= 2);

    // ...and is once the key file is good again (backoff: at most 8 intervals).
    writeFileSync(sa.keyFile, goodKey);
    await until('recovery', async () => (await models()).includes('delta'), 20_000);
    const st = await status();
    assert.equal(st.last_error, null);
    assert.equal(st.consecutive_failures, 0);
    assert.ok(!gw.allOutput().includes('BEGIN PRIVATE KEY'));
  });

  it('keeps serving while the storage endpoint is down and recovers when it is back', T, async () => {
    await gcs.stop();
    await until('a sync failure', async () => (await status()).consecutive_failures >= 1, 10_000);
    assert.ok((await status()).last_error);
    assert.equal((await chat('delta')).status, 200);
    await gcs.start();
    gcs.put(BUCKET, OBJECT, yaml(['alpha', 'epsilon']));
    await until('recovery', async () => (await models()).includes('epsilon'), 20_000);
    assert.equal((await status()).last_error, null);
  });
});

describe('GCS service account: key file missing at startup (stand-in: lib/fake_gcs.mjs)', () => {
  it('falls back to the local file, names the problem, and loads the object once the key file exists', T, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-gcs-nokey-'));
    const sa = serviceAccount(dir);
    const gcs = await startFakeGcs({ account: sa.account });
    let gw;
    try {
      gcs.put(BUCKET, OBJECT, yaml(['from-gcs']));
      const local = path.join(dir, 'local.yaml');
      writeFileSync(local, 'model_list:\n  - model_name: local-only\n    litellm_params: {model: mock/x}\n');
      const masterKey = randomToken('sk-master');
      const auth = { authorization: `Bearer ${masterKey}` };
      gw = await startGateway({
        config: local,
        env: {
          TEST_MASTER_KEY: masterKey,
          CONFIG_GCS_BUCKET: BUCKET,
          CONFIG_GCS_KEY: OBJECT,
          CONFIG_GCS_ENDPOINT: gcs.endpoint,
          GOOGLE_APPLICATION_CREDENTIALS: sa.keyFile,
          CONFIG_HOT_RELOAD: 'true',
          CONFIG_SYNC_INTERVAL: '0.3',
        },
        startupTimeoutMs: 30_000,
      });
      const models = async () => (await request(gw.baseUrl, { path: '/v1/models', headers: auth })).json.data.map((m) => m.id);
      assert.deepEqual(await models(), ['local-only']);
      const st = (await request(gw.baseUrl, { path: '/config/sync/status', headers: auth })).json;
      assert.equal(st.version, null);
      assert.equal(st.last_error, `gs://${BUCKET}/${OBJECT}: service-account token: GOOGLE_APPLICATION_CREDENTIALS (${sa.keyFile}): cannot open the key file`);
      assert.ok(gw.stderrLines.some((l) => l.includes('falling back to the local config') && l.includes('cannot open the key file')));
      assert.equal(gcs.tokens.length, 0);

      writeFileSync(sa.keyFile, sa.keyJson(gcs.tokenUri));
      await until('the object', async () => (await models()).includes('from-gcs'), 20_000);
    } finally {
      if (gw) await gw.stop();
      await gcs.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GCS emulator (STORAGE_EMULATOR_HOST): no authentication (stand-in with auth off, like fake-gcs-server)', () => {
  it('reads the object unauthenticated even when GOOGLE_APPLICATION_CREDENTIALS is set', T, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-gcs-emu-'));
    const gcs = await startFakeGcs({ auth: false });
    let gw;
    try {
      const { etag } = gcs.put('emu-bucket', 'c.yaml', 'model_list:\n  - model_name: from-emulator\n    litellm_params: {model: mock/x}\n');
      const local = path.join(dir, 'local.yaml');
      writeFileSync(local, 'model_list:\n  - model_name: local-only\n    litellm_params: {model: mock/x}\n');
      gw = await startGateway({
        config: local,
        env: {
          CONFIG_GCS_BUCKET: 'emu-bucket',
          CONFIG_GCS_KEY: 'c.yaml',
          STORAGE_EMULATOR_HOST: `127.0.0.1:${gcs.port}`,
          GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, 'does-not-exist.json'),
        },
      });
      const models = (await request(gw.baseUrl, { path: '/v1/models' })).json.data.map((m) => m.id);
      assert.deepEqual(models, ['from-emulator']);
      const st = (await request(gw.baseUrl, { path: '/config/sync/status' })).json;
      assert.equal(st.auth, 'none');
      assert.equal(st.endpoint, gcs.endpoint);
      assert.equal(st.version, etag);
      assert.equal(gcs.tokens.length, 0);
      assert.ok(gcs.objectRequests.length >= 1);
      assert.ok(gcs.objectRequests.every((r) => r.token === ''));
    } finally {
      if (gw) await gw.stop();
      await gcs.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('router model at a gs:// model_path (stand-in: lib/fake_gcs.mjs)', () => {
  it('downloads the artefact into the data dir with the service account and picks up a new object', T, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-gcs-router-'));
    const sa = serviceAccount(dir);
    const gcs = await startFakeGcs({ account: sa.account, tokenLifetimeS: TOKEN_LIFETIME_S });
    let gw;
    try {
      writeFileSync(sa.keyFile, sa.keyJson(gcs.tokenUri));
      const routerA = await trainRouter(dir, 'router-a', false);
      const routerB = await trainRouter(dir, 'router-b', true);
      gcs.put('models', 'routers/knn.syr', readFileSync(routerA));
      const masterKey = randomToken('sk-master');
      const auth = { authorization: `Bearer ${masterKey}` };
      const config = path.join(dir, 'config.yaml');
      writeFileSync(
        config,
        `model_list:
  - {model_name: cheap, litellm_params: {model: mock/cheap, mock_response: "cheap answer"}}
  - {model_name: coder, litellm_params: {model: mock/coder, mock_response: "coder answer"}}
  - {model_name: big, litellm_params: {model: mock/big, mock_response: "big answer"}}
router_settings:
  routing_strategy: llmrouter-knn
  routing_strategy_args: {model_path: "gs://models/routers/knn.syr", hot_reload: true, reload_interval: 0.3, cost_weight: 0}
general_settings:
  master_key: os.environ/TEST_MASTER_KEY
`,
      );
      const dataDir = tempDataDir();
      gw = await startGateway({
        config,
        env: {
          TEST_MASTER_KEY: masterKey,
          CONFIG_GCS_ENDPOINT: gcs.endpoint,
          GOOGLE_APPLICATION_CREDENTIALS: sa.keyFile,
          SWITCHYARD_DATA_DIR: dataDir,
        },
        startupTimeoutMs: 30_000,
      });
      const info = async () => (await request(gw.baseUrl, { path: '/router/info', headers: auth })).json;
      const chat = async () =>
        (await post(gw.baseUrl, '/v1/chat/completions', { model: 'auto', messages: [{ role: 'user', content: CODE_PROMPT }] }, { headers: auth })).json
          .choices[0].message.content;
      const first = await info();
      assert.equal(first.loaded, true, JSON.stringify(first));
      assert.equal(first.object, 'gs://models/routers/knn.syr');
      assert.equal(first.file, path.join(dataDir, 'models', 'gs', 'models', 'routers_knn.syr'));
      assert.ok(existsSync(first.file));
      assert.equal(await chat(), 'coder answer');
      assert.ok(gcs.tokens.length >= 1);

      gcs.put('models', 'routers/knn.syr', readFileSync(routerB));
      const second = await until('the new router', async () => {
        const i = await info();
        return i.checksum !== first.checksum ? i : null;
      });
      assert.notEqual(second.object_etag, first.object_etag);
      assert.equal(await chat(), 'cheap answer');
      assert.deepEqual(gcs.objectRequests.filter((r) => r.status === 401), []);
    } finally {
      if (gw) await gw.stop();
      await gcs.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
