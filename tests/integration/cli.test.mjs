// `switchyard check-config` and config discovery for `switchyard serve`.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, configPath, randomToken, baseEnv, installExitGuard } from './lib/gateway.mjs';

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
