// Learned routing served by the gateway: a router trained here with
// `switchyard train`, routed through the "auto" alias and inside a model
// group, hot-swapped under load, rejected when corrupt, and reloaded with
// POST /router/reload.
//
// The two training sets are mirror images: with router A, coding prompts go
// to "coder" and chat prompts to "cheap"; with router B it is the other way
// round. So every response says, through its headers, which router chose it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { trainingRows, trainRouter, CODE_PROMPT, CHAT_PROMPT } from './lib/routers.mjs';
import { startGateway, configPath, randomToken, runCli, installExitGuard } from './lib/gateway.mjs';
import { post, request, parsePrometheus, sleep } from './lib/http.mjs';
import { startFakeUpstream } from './fake_upstream.mjs';

installExitGuard();

const T = { timeout: 30_000 };

const train = trainRouter;

/** Replaces `target` atomically (write beside it, then rename), as a deploy script should. */
function installFile(target, bytes) {
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, target);
}

/** One sample of the gateway's /metrics, or undefined. */
async function metric(gw, name, labels) {
  const res = await request(gw.baseUrl, { path: '/metrics' });
  const found = parsePrometheus(res.text).find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found?.value;
}

function chatBody(model, content) {
  return { model, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content }] };
}

describe('learned routing through the "auto" alias', () => {
  let dir;
  let gw;
  let routerA;
  let routerB;
  let live;
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };
  const chat = (content, model = 'auto') => post(gw.baseUrl, '/v1/chat/completions', chatBody(model, content), { headers: auth });
  const info = async () => (await request(gw.baseUrl, { path: '/router/info', headers: auth })).json;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-learned-'));
    routerA = await train(dir, 'router-a', false);
    routerB = await train(dir, 'router-b', true);
    live = path.join(dir, 'live.syr');
    installFile(live, readFileSync(routerA));
    gw = await startGateway({
      config: configPath('learned.yaml'),
      env: { ROUTER_MODEL_PATH: live, TEST_MASTER_KEY: masterKey },
    });
  });
  after(async () => {
    if (gw) await gw.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('routes each prompt to the candidate the router prefers, and says so', T, async () => {
    const code = await chat(CODE_PROMPT);
    assert.equal(code.status, 200, code.text);
    assert.equal(code.json.choices[0].message.content, 'coder answer');
    assert.equal(code.headers['x-switchyard-router'], 'llmrouter-knn');
    assert.equal(code.headers['x-switchyard-router-model'], 'coder');
    assert.equal(code.headers['x-litellm-model-group'], 'coder');
    assert.equal(code.headers['x-litellm-model-id'], 'coder-1');

    const talk = await chat(CHAT_PROMPT);
    assert.equal(talk.status, 200, talk.text);
    assert.equal(talk.json.choices[0].message.content, 'cheap answer');
    assert.equal(talk.headers['x-switchyard-router-model'], 'cheap');
    assert.equal(talk.headers['x-switchyard-router-version'], code.headers['x-switchyard-router-version']);

    // A request for a group by name is not re-routed.
    const direct = await chat(CODE_PROMPT, 'big');
    assert.equal(direct.status, 200);
    assert.equal(direct.json.choices[0].message.content, 'big answer');
    assert.equal(direct.headers['x-switchyard-router'], undefined);
  });

  it('lists the alias among the models and explains itself at /router/info', T, async () => {
    const models = await request(gw.baseUrl, { path: '/v1/models', headers: auth });
    assert.deepEqual(models.json.data.map((m) => m.id), ['cheap', 'coder', 'big', 'auto']);
    const card = await request(gw.baseUrl, { path: '/v1/models/auto', headers: auth });
    assert.equal(card.status, 200);

    const i = await info();
    assert.equal(i.strategy, 'llmrouter-knn');
    assert.equal(i.loaded, true);
    assert.match(i.checksum, /^[0-9a-f]{64}$/);
    assert.equal(i.last_reload_error, null);
    assert.deepEqual(i.candidates.map((c) => [c.name, c.deployments]), [['cheap', ['cheap-1']], ['coder', ['coder-1']], ['big', ['big-1']]]);
    assert.equal(i.artefact.strategy, 'knn');

    const unauth = await request(gw.baseUrl, { path: '/router/info' });
    assert.equal(unauth.status, 401);
  });

  it('swaps to a new router file under load without failing a request', T, async () => {
    const versionA = (await info()).version;
    let stop = false;
    const seen = [];
    const loops = [0, 1, 2, 3].map(async (k) => {
      for (let n = 0; !stop; n++) {
        const prompt = (k + n) % 2 === 0 ? CODE_PROMPT : CHAT_PROMPT;
        const res = await chat(prompt);
        seen.push({ prompt, status: res.status, version: res.headers['x-switchyard-router-version'], model: res.headers['x-switchyard-router-model'], text: res.text });
      }
    });
    await sleep(300);
    installFile(live, readFileSync(routerB));
    const swappedAt = Date.now();
    let versionB;
    while (Date.now() - swappedAt < 5000) {
      const res = await chat(CODE_PROMPT);
      if (res.headers['x-switchyard-router-model'] === 'cheap') {
        versionB = res.headers['x-switchyard-router-version'];
        break;
      }
      await sleep(20);
    }
    const tookMs = Date.now() - swappedAt;
    await sleep(200);
    stop = true;
    await Promise.all(loops);

    assert.ok(versionB, 'decisions never changed to router B');
    assert.notEqual(versionB, versionA);
    // reload_interval is 0.2 s; allow for a slow, loaded CI machine.
    assert.ok(tookMs < 2000, `new router took ${tookMs} ms to take effect`);
    assert.ok(seen.length > 20, `only ${seen.length} requests during the swap`);
    for (const s of seen) {
      assert.equal(s.status, 200, s.text);
      // Each answer is consistent with the router version it reports.
      const expected = (s.prompt === CODE_PROMPT) === (s.version === versionA) ? 'coder' : 'cheap';
      assert.equal(s.model, expected, JSON.stringify(s));
    }
    assert.ok(seen.some((s) => s.version === versionA) && seen.some((s) => s.version === versionB));
  });

  it('keeps serving the old router when the new file is corrupt or truncated', T, async () => {
    const before = await info();
    const reloadFailures = () => metric(gw, 'llmrouter_model_reloads_total', { strategy: 'llmrouter-knn', result: 'failure' });
    const failuresBefore = await reloadFailures();

    const good = readFileSync(routerA);
    installFile(live, good.subarray(0, Math.floor(good.length / 2)));
    await sleep(700);
    let res = await chat(CODE_PROMPT);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-switchyard-router-version'], before.version);
    const afterTruncated = await info();
    assert.equal(afterTruncated.version, before.version);
    assert.ok(afterTruncated.last_reload_error, 'no reload error reported');

    installFile(live, Buffer.from('definitely not a router artefact'));
    await sleep(700);
    res = await chat(CHAT_PROMPT);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-switchyard-router-version'], before.version);

    const failures = await reloadFailures();
    assert.ok(failures >= failuresBefore + 2, `reload failures ${failuresBefore} -> ${failures}`);
    assert.equal(await metric(gw, 'llmrouter_model_info', { strategy: 'llmrouter-knn', version: before.version, checksum: before.checksum }), 1);

    // A forced reload of the broken file fails the same way, and says what is still served.
    const forced = await post(gw.baseUrl, '/router/reload', { strategy: 'llmrouter-knn' }, { headers: auth });
    assert.equal(forced.status, 422, forced.text);
    assert.equal(forced.json.error.code, 'router_reload_failed');
    assert.match(forced.json.error.message, new RegExp(`still serving version ${before.version}`));
  });

  it('POST /router/reload needs the master key and the configured strategy, and loads now', T, async () => {
    installFile(live, readFileSync(routerA));
    const noKey = await post(gw.baseUrl, '/router/reload', {});
    assert.equal(noKey.status, 401);
    const wrongKey = await post(gw.baseUrl, '/router/reload', {}, { headers: { authorization: 'Bearer sk-wrong' } });
    assert.equal(wrongKey.status, 401);
    const mismatch = await post(gw.baseUrl, '/router/reload', { strategy: 'llmrouter-mlp' }, { headers: auth });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.json.error.code, 'strategy_mismatch');
    const badJson = await request(gw.baseUrl, { method: 'POST', path: '/router/reload', headers: { ...auth, 'content-type': 'application/json' }, body: '{"strategy":' });
    assert.equal(badJson.status, 400);

    const ok = await post(gw.baseUrl, '/router/reload', { strategy: 'llmrouter-knn' }, { headers: auth });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'reloaded');
    assert.match(ok.json.checksum, /^[0-9a-f]{64}$/);
    assert.deepEqual(ok.json.candidates, ['cheap', 'coder', 'big']);
    const i = await info();
    assert.equal(i.checksum, ok.json.checksum);
    assert.equal(i.last_reload_error, null);
    const res = await chat(CODE_PROMPT);
    assert.equal(res.headers['x-switchyard-router-model'], 'coder');
    assert.equal(res.headers['x-switchyard-router-version'], ok.json.version);
  });

  it('counts decisions and their duration in /metrics', T, async () => {
    const decisions = (model) => metric(gw, 'llmrouter_routing_decisions_total', { strategy: 'llmrouter-knn', model });
    assert.ok((await decisions('coder')) >= 1);
    assert.ok((await decisions('cheap')) >= 1);
    assert.ok((await metric(gw, 'llmrouter_routing_duration_seconds_count', { strategy: 'llmrouter-knn' })) >= 2);
    const log = gw.stdoutLines.map((l) => JSON.parse(l)).filter((l) => l.type === 'access' && l.router_model);
    assert.ok(log.some((l) => l.router_model === 'coder' && l.model_group === 'coder'));
  });
});

describe('learned routing inside a model group', () => {
  let dir;
  let gw;
  let fake;
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };
  const chat = (content) => post(gw.baseUrl, '/v1/chat/completions', chatBody('smart', content), { headers: auth });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-learned-group-'));
    const router = await train(dir, 'router-a', false);
    fake = await startFakeUpstream();
    gw = await startGateway({
      config: configPath('learned_group.yaml'),
      env: { ROUTER_MODEL_PATH: router, TEST_MASTER_KEY: masterKey, FAKE_UPSTREAM_BASE: fake.baseUrl, FAKE_UPSTREAM_KEY: 'sk-fake' },
    });
  });
  after(async () => {
    if (gw) await gw.stop();
    if (fake) await fake.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ranks the group\'s deployments; a failing best candidate cools down and the next best answers', T, async () => {
    const talk = await chat(CHAT_PROMPT);
    assert.equal(talk.status, 200, talk.text);
    assert.equal(talk.headers['x-litellm-model-id'], 'smart-cheap');
    assert.equal(talk.headers['x-switchyard-router-model'], 'cheap');

    // Router A ranks coder (1.0) > big (0.5) > cheap (0) for code. The coder
    // deployment answers 500: the retry goes to the next best candidate.
    const first = await chat(CODE_PROMPT);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers['x-litellm-model-id'], 'smart-big');
    assert.equal(first.headers['x-switchyard-router-model'], 'big');
    assert.equal(first.headers['x-litellm-attempted-retries'], '1');
    const coderHits = fake.requests.filter((r) => r.body?.model === 'error500').length;
    assert.equal(coderHits, 1);

    // allowed_fails: 0 put coder into cooldown: skipped without a retry now.
    const second = await chat(CODE_PROMPT);
    assert.equal(second.status, 200);
    assert.equal(second.headers['x-litellm-model-id'], 'smart-big');
    assert.equal(second.headers['x-litellm-attempted-retries'], '0');
    assert.equal(fake.requests.filter((r) => r.body?.model === 'error500').length, coderHits);
  });
});

describe('learned routing without a loadable router', () => {
  let dir;
  let gw;
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-learned-missing-'));
    gw = await startGateway({
      config: configPath('learned.yaml'),
      env: { ROUTER_MODEL_PATH: path.join(dir, 'not-yet.syr'), TEST_MASTER_KEY: masterKey },
    });
  });
  after(async () => {
    if (gw) await gw.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves "auto" with the fallback strategy, counts it, and picks the router up when it appears', T, async () => {
    assert.ok(!existsSync(path.join(dir, 'not-yet.syr')));
    const res = await post(gw.baseUrl, '/v1/chat/completions', chatBody('auto', CODE_PROMPT), { headers: auth });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['x-switchyard-router'], undefined);
    assert.ok(['cheap', 'coder', 'big'].includes(res.headers['x-litellm-model-group']));
    assert.equal(await metric(gw, 'llmrouter_fallbacks_total', { strategy: 'llmrouter-knn', reason: 'not_loaded' }), 1);
    const i = (await request(gw.baseUrl, { path: '/router/info', headers: auth })).json;
    assert.equal(i.loaded, false);
    assert.match(i.last_reload_error, /not-yet\.syr/);

    const router = await train(dir, 'router-a', false);
    installFile(path.join(dir, 'not-yet.syr'), readFileSync(router));
    const start = Date.now();
    let routed;
    while (Date.now() - start < 5000) {
      routed = await post(gw.baseUrl, '/v1/chat/completions', chatBody('auto', CODE_PROMPT), { headers: auth });
      if (routed.headers['x-switchyard-router']) break;
      await sleep(50);
    }
    assert.equal(routed.headers['x-switchyard-router-model'], 'coder');
  });
});

describe('learned routing with the embedding featurizer', () => {
  let dir;
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };
  const gateways = [];
  const start = async (embedder, routerPath) => {
    const gw = await startGateway({
      config: configPath('learned_embedding.yaml'),
      env: {
        ROUTER_MODEL_PATH: routerPath,
        EMBEDDER_MODEL: embedder,
        TEST_MASTER_KEY: masterKey,
        DEAD_UPSTREAM_BASE: 'http://127.0.0.1:9/v1',
      },
    });
    gateways.push(gw);
    return gw;
  };

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchyard-learned-emb-'));
  });
  after(async () => {
    for (const gw of gateways) await gw.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('embeds the prompt through the embedding deployment and routes by it', T, async () => {
    const routerPath = path.join(dir, 'router.syr');
    const gw = await start('embedder', routerPath);
    // Training rows carry the embeddings the gateway's own embedder gives.
    const rows = trainingRows(false).trim().split('\n').map((l) => JSON.parse(l));
    const emb = await post(gw.baseUrl, '/v1/embeddings', { model: 'embedder', input: rows.map((r) => r.query) }, { headers: auth });
    assert.equal(emb.status, 200, emb.text);
    rows.forEach((r, i) => (r.embedding = emb.json.data[i].embedding));
    const data = path.join(dir, 'emb.jsonl');
    writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const trained = await runCli(['train', '--strategy', 'knn', '--k', '1', '--featurizer', 'embedding', '--data', data, '--out', routerPath, '--seed', '1'], { timeoutMs: 60_000 });
    assert.equal(trained.code, 0, trained.stderr);
    const reload = await post(gw.baseUrl, '/router/reload', {}, { headers: auth });
    assert.equal(reload.status, 200, reload.text);

    // The mock embedder hashes text, so only a training query's own text has
    // a known nearest neighbour: itself (hence k = 1).
    for (const [query, expected] of [[rows[0].query, 'coder'], [rows[1].query, 'cheap'], [rows[2].query, 'coder']]) {
      const res = await post(gw.baseUrl, '/v1/chat/completions', chatBody('auto', query), { headers: auth });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['x-switchyard-router-model'], expected, query);
    }
    assert.equal(await metric(gw, 'llmrouter_fallbacks_total', { strategy: 'llmrouter-knn', reason: 'embedding_unavailable' }), undefined);

    // The same router with an unreachable embedder: requests still succeed,
    // ranked by the training prior, and the fallback is counted.
    const broken = await start('broken-embedder', routerPath);
    const res = await post(broken.baseUrl, '/v1/chat/completions', chatBody('auto', rows[0].query), { headers: auth });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['x-switchyard-router'], 'llmrouter-knn');
    assert.equal(await metric(broken, 'llmrouter_fallbacks_total', { strategy: 'llmrouter-knn', reason: 'embedding_unavailable' }), 1);
  });
});
