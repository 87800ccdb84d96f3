// Fake upstream + gateway wired together with fresh random secrets.

import { startFakeUpstream } from '../fake_upstream.mjs';
import { startGateway, configPath, randomToken } from './gateway.mjs';
import { post, request, freePort } from './http.mjs';
import assert from 'node:assert/strict';

/** A loopback port that was free a moment ago and has no listener now. */
export const deadPort = freePort;

/** Model groups declared in configs/gateway.yaml, in file order. */
export const MODEL_GROUPS = [
  'fake-normal',
  'fake-slow',
  'fake-ratelimit',
  'fake-error500',
  'fake-reset',
  'fake-midstream-drop',
  'fake-garbage',
  'fake-hang',
  'fake-slowstream',
  'fake-unreachable',
  'mock-gpt',
];

export async function startStack({ config = configPath('gateway.yaml') } = {}) {
  const fake = await startFakeUpstream();
  const masterKey = randomToken('sk-master');
  const upstreamKey = randomToken('sk-upstream');
  const dead = await deadPort();
  let gw;
  try {
    gw = await startGateway({
      config,
      env: {
        FAKE_UPSTREAM_BASE: fake.baseUrl,
        FAKE_UPSTREAM_KEY: upstreamKey,
        TEST_MASTER_KEY: masterKey,
        DEAD_UPSTREAM_BASE: `http://127.0.0.1:${dead}/v1`,
      },
    });
  } catch (err) {
    await fake.close();
    throw err;
  }
  // A gateway that dies mid-file makes every later test fail with ECONNREFUSED;
  // say why, once, with its last output.
  let stopping = false;
  gw.exited.then((info) => {
    if (!stopping) {
      process.stderr.write(
        `\n!!! switchyard (pid ${gw.pid}) exited unexpectedly: code=${info.code} signal=${info.signal}${gw.dump()}\n`,
      );
    }
  });
  const auth = { authorization: `Bearer ${masterKey}` };
  const stack = {
    fake,
    gw,
    masterKey,
    upstreamKey,
    auth,
    baseUrl: gw.baseUrl,
    /** Authenticated JSON POST to the gateway. */
    post(path, body, { headers = {}, timeoutMs } = {}) {
      return post(gw.baseUrl, path, body, { headers: { ...auth, ...headers }, timeoutMs });
    },
    /** Authenticated GET. */
    get(path, { headers = {}, timeoutMs } = {}) {
      return request(gw.baseUrl, { method: 'GET', path, headers: { ...auth, ...headers }, timeoutMs });
    },
    chat(model, content, extra = {}, opts = {}) {
      return stack.post('/v1/chat/completions', { model, messages: [{ role: 'user', content }], ...extra }, opts);
    },
    /** The gateway still proxies a normal request correctly (used after every error case). */
    async assertStillServes() {
      const nonce = randomToken('still-ok');
      const res = await stack.chat('fake-normal', `health probe ${nonce}`);
      assert.equal(res.status, 200, `gateway no longer serves a normal request: ${res.status} ${res.text}`);
      assert.equal(res.json.choices[0].message.content, 'Hello from the fake upstream.');
      assert.equal(fake.find(nonce).length, 1, 'the probe must reach the upstream exactly once');
    },
    /** Call before deliberately signalling the gateway. */
    expectExit() {
      stopping = true;
    },
    async close() {
      stopping = true;
      try {
        await gw.stop();
      } finally {
        await fake.close();
      }
    },
  };
  return stack;
}
