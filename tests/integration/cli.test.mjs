// `switchyard check-config` and config discovery for `switchyard serve`.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, startGateway, configPath, randomToken, baseEnv, installExitGuard, REPO_ROOT } from './lib/gateway.mjs';

installExitGuard();

const T = { timeout: 15_000 };

describe('switchyard CLI', () => {
  let tmp;
  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'switchyard-cli-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('check-config prints the normalised config with secrets masked and exits 0', T, async () => {
    const upstreamKey = randomToken('sk-upstream-cli');
    const masterKey = randomToken('sk-master-cli');
    const r = await runCli(['check-config', '--config', configPath('gateway.yaml')], {
      env: baseEnv({
        FAKE_UPSTREAM_BASE: 'http://127.0.0.1:9/v1',
        FAKE_UPSTREAM_KEY: upstreamKey,
        TEST_MASTER_KEY: masterKey,
        DEAD_UPSTREAM_BASE: 'http://127.0.0.1:9/v1',
      }),
    });
    assert.equal(r.code, 0, `exit code\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    const all = r.stdout + r.stderr;
    assert.ok(!all.includes(upstreamKey), 'the resolved api_key must not be printed');
    assert.ok(!all.includes(masterKey), 'the resolved master_key must not be printed');
    assert.ok(r.stdout.includes('***'), `secrets should be shown as ***:\n${r.stdout}`);
    for (const name of ['fake-normal', 'mock-gpt', 'normal-deployment-1']) {
      assert.ok(r.stdout.includes(name), `normalised config should mention ${name}:\n${r.stdout}`);
    }
  });

  it('check-config fails on a missing env var, naming the key path', T, async () => {
    const env = baseEnv();
    delete env.SWITCHYARD_TEST_UNSET_API_KEY;
    const r = await runCli(['check-config', '--config', configPath('missing_env.yaml')], { env });
    assert.notEqual(r.code, 0, `should fail\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.signal, null, 'should exit, not crash');
    const all = r.stdout + r.stderr;
    assert.ok(all.includes('model_list[0].litellm_params.api_key'), `message should contain the key path:\n${all}`);
  });

  it('check-config on a file that does not exist exits non-zero', T, async () => {
    const missing = path.join(tmp, 'nope.yaml');
    const r = await runCli(['check-config', '--config', missing]);
    assert.notEqual(r.code, 0, `should fail\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.signal, null, 'should exit, not crash');
  });

  it('serve with no config anywhere exits non-zero listing the places tried', T, async (t) => {
    if (existsSync('/app/config/config.yaml')) {
      t.skip('/app/config/config.yaml exists on this machine');
      return;
    }
    const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0'], { cwd: tmp, env: baseEnv(), timeoutMs: 10_000 });
    assert.notEqual(r.code, 0, `should fail\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.signal, null);
    const all = r.stdout + r.stderr;
    assert.ok(all.includes('LITELLM_CONFIG_PATH'), `should mention LITELLM_CONFIG_PATH:\n${all}`);
    assert.ok(all.includes('/app/config/config.yaml'), `should mention /app/config/config.yaml:\n${all}`);
  });
});

describe('data dir', () => {
  let tmp;
  let blocked; // a path below a regular file: it can never be created
  const openConfig = 'model_list:\n  - model_name: m\n    litellm_params: {model: mock/m}\n';
  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'switchyard-datadir-'));
    writeFileSync(path.join(tmp, 'a-file'), 'x');
    blocked = path.join(tmp, 'a-file', 'data');
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  const write = (name, text) => {
    const file = path.join(tmp, name);
    writeFileSync(file, text);
    return file;
  };
  const dumpedDataDir = (stdout) => stdout.match(/^\s*data_dir: (.*)$/m)?.[1];

  it('defaults to /app/data; switchyard_settings.data_dir and SWITCHYARD_DATA_DIR override it', T, async () => {
    const plain = write('plain.yaml', openConfig);
    // check-config writes nothing, so the default can be shown safely.
    let r = await runCli(['check-config', '--config', plain], { env: baseEnv({ SWITCHYARD_DATA_DIR: '' }) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(dumpedDataDir(r.stdout), '/app/data');
    const custom = write('custom.yaml', `${openConfig}switchyard_settings:\n  data_dir: /srv/sy\n`);
    r = await runCli(['check-config', '--config', custom], { env: baseEnv({ SWITCHYARD_DATA_DIR: '' }) });
    assert.equal(dumpedDataDir(r.stdout), '/srv/sy');
    r = await runCli(['check-config', '--config', custom], { env: baseEnv({ SWITCHYARD_DATA_DIR: '/var/lib/sy' }) });
    assert.equal(dumpedDataDir(r.stdout), '/var/lib/sy');
    // The quickstart runs from a checkout as a normal user: ./data (git-ignored).
    r = await runCli(['check-config', '--config', path.join(REPO_ROOT, 'config', 'quickstart.yaml')], {
      cwd: REPO_ROOT,
      env: baseEnv({ SWITCHYARD_DATA_DIR: '' }),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(dumpedDataDir(r.stdout), './data');
  });

  it('serve fails at startup, naming both settings, when the SQLite store cannot be created', T, async () => {
    const config = write('keys.yaml', `${openConfig}general_settings:\n  master_key: ${randomToken('sk-master')}\n`);
    const r = await runCli(['serve', '--config', config, '--host', '127.0.0.1', '--port', '0'], {
      env: baseEnv({ SWITCHYARD_DATA_DIR: blocked }),
    });
    assert.equal(r.code, 1, `exit code\nstderr:\n${r.stderr}`);
    assert.equal(r.signal, null);
    const expected = `error: data dir ${blocked} cannot be created: Not a directory; it holds the SQLite store (switchyard.db). `;
    assert.ok(r.stderr.includes(expected), r.stderr);
    assert.match(r.stderr, /Set SWITCHYARD_DATA_DIR or switchyard_settings\.data_dir to a writable directory/);
    assert.ok(!r.stderr.includes('"msg":"listening"'), 'must not start listening');

    const migrate = await runCli(['migrate', '--config', config], { env: baseEnv({ SWITCHYARD_DATA_DIR: blocked }) });
    assert.equal(migrate.code, 1, migrate.stderr);
    assert.match(migrate.stderr, /data dir .* cannot be created: Not a directory; it holds the SQLite store/);
  });

  it('serve fails the same way for an S3 router model, and starts when nothing needs the data dir', T, async () => {
    const router = write(
      'router.yaml',
      `${openConfig}router_settings:\n  routing_strategy: llmrouter-knn\n  routing_strategy_args:\n    model_path: s3://bucket/model.syr\n`,
    );
    const r = await runCli(['serve', '--config', router, '--host', '127.0.0.1', '--port', '0'], {
      env: baseEnv({ SWITCHYARD_DATA_DIR: blocked, AWS_EC2_METADATA_DISABLED: 'true' }),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /it holds router artefacts downloaded from object storage\./);

    // Open mode, local models only: the data dir is never touched.
    const gw = await startGateway({ config: write('open.yaml', openConfig), env: { SWITCHYARD_DATA_DIR: blocked } });
    try {
      assert.ok(gw.port > 0);
    } finally {
      await gw.stop();
    }
  });

  it('serve creates a missing data dir and keeps the store in it', T, async () => {
    const dataDir = path.join(tmp, 'nested', 'data');
    const config = write('store.yaml', `${openConfig}general_settings:\n  master_key: ${randomToken('sk-master')}\n`);
    const gw = await startGateway({ config, env: { SWITCHYARD_DATA_DIR: dataDir } });
    try {
      assert.ok(readdirSync(dataDir).includes('switchyard.db'), readdirSync(dataDir).join(','));
      // The write check leaves nothing behind.
      assert.deepEqual(readdirSync(dataDir).filter((f) => f.startsWith('.switchyard-write-check')), []);
    } finally {
      await gw.stop();
    }
  });
});
