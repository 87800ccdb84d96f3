// Routing strategies end to end: the real gateway choosing between
// deployments of one group, observed through x-litellm-model-id and the calls
// the fake upstream received. The fake's `slow` model answers after
// SLOW_DELAY_MS (1 s), `normal` at once: those are the controlled delays.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeUpstream, SLOW_DELAY_MS } from './fake_upstream.mjs';
import { startGateway, randomToken, installExitGuard } from './lib/gateway.mjs';
import { post, sleep } from './lib/http.mjs';

installExitGuard();

const T = { timeout: 30_000 };

describe('routing strategies', () => {
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };
  let fake;
  let dir;
  let gw;

  before(async () => {
    fake = await startFakeUpstream();
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-strategies-'));
  });
  after(async () => {
    await gw?.stop();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // A gateway whose group `g` holds `deployments` ([{id, params}]).
  async function gateway(strategy, deployments) {
    await gw?.stop();
    const lines = ['model_list:'];
    for (const d of deployments) {
      lines.push('  - model_name: g', '    litellm_params:');
      for (const [k, v] of Object.entries(d.params)) lines.push(`      ${k}: ${JSON.stringify(v)}`);
      lines.push(`    model_info: {id: ${d.id}}`);
    }
    lines.push('router_settings:', `  routing_strategy: ${strategy}`, 'general_settings:', '  master_key: os.environ/TEST_MASTER_KEY', '');
    const file = path.join(dir, `${strategy}.yaml`);
    writeFileSync(file, lines.join('\n'));
    gw = await startGateway({ config: file, env: { TEST_MASTER_KEY: masterKey } });
  }
  const upstream = (model) => ({ model: `openai/${model}`, api_base: fake.baseUrl, api_key: 'sk-fake', timeout: 10 });
  const chat = (nonce) =>
    post(gw.baseUrl, '/v1/chat/completions', { model: 'g', messages: [{ role: 'user', content: nonce }] }, { headers: auth, timeoutMs: 15_000 });
  const tally = (responses) => {
    const out = {};
    for (const r of responses) {
      assert.equal(r.status, 200, r.text);
      const id = r.headers['x-litellm-model-id'];
      out[id] = (out[id] ?? 0) + 1;
    }
    return out;
  };

  it('simple-shuffle: weights 1:3 give ~25/75 over 400 requests (±45, > 5 sd)', T, async () => {
    await gateway('simple-shuffle', [
      { id: 'light', params: { model: 'mock/light', weight: 1, mock_response: 'x' } },
      { id: 'heavy', params: { model: 'mock/heavy', weight: 3, mock_response: 'x' } },
    ]);
    const responses = [];
    for (let batch = 0; batch < 20; batch++) {
      responses.push(...(await Promise.all(Array.from({ length: 20 }, () => chat('w')))));
    }
    const c = tally(responses);
    // Binomial n=400, p=0.25: mean 100, sd 8.7.
    assert.ok(Math.abs((c.light ?? 0) - 100) <= 45, JSON.stringify(c));
    assert.equal((c.light ?? 0) + (c.heavy ?? 0), 400);
  });

  it('least-busy: while the slow deployment holds a request, new ones go to the idle one', T, async () => {
    await gateway('least-busy', [
      { id: 'slow', params: upstream('slow') },
      { id: 'fast', params: upstream('normal') },
    ]);
    // 20 requests, one every 50 ms, over about one slow answer's time. The
    // slow deployment can only be chosen when it has nothing in flight: at
    // most twice (ties at 0 in flight are broken at random). Simple shuffle
    // would send it about 10.
    const pending = [];
    for (let i = 0; i < 20; i++) {
      pending.push(chat(randomToken('busy')));
      await sleep(50);
    }
    const c = tally(await Promise.all(pending));
    assert.ok((c.slow ?? 0) >= 0 && (c.slow ?? 0) <= 2, JSON.stringify(c));
    assert.ok(c.fast >= 18, JSON.stringify(c));
  });

  it('latency-based-routing: each deployment is measured once, then the fast one takes the traffic', T, async () => {
    await gateway('latency-based-routing', [
      { id: 'slow', params: upstream('slow') },
      { id: 'fast', params: upstream('normal') },
    ]);
    const responses = [];
    const started = Date.now();
    for (let i = 0; i < 12; i++) responses.push(await chat(randomToken('latency')));
    const c = tally(responses);
    // Unmeasured deployments are tried first, so each of the first two
    // requests measures one of them; the ten after that all go to `fast`.
    assert.deepEqual(c, { slow: 1, fast: 11 });
    assert.deepEqual(new Set(responses.slice(0, 2).map((r) => r.headers['x-litellm-model-id'])), new Set(['slow', 'fast']));
    assert.ok(responses.slice(2).every((r) => r.headers['x-litellm-model-id'] === 'fast'));
    assert.ok(Date.now() - started < SLOW_DELAY_MS + 3000, 'only one slow answer was waited for');
  });
});
