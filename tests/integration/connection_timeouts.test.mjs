// Client connections at the socket level, with a short client_idle_timeout
// (0.5 s, configs/timeouts.yaml). The gateway reads a request that has
// already arrived at once and arms its idle timer only for a read that has
// to wait (src/core/try_io.h), so these cover both ways: an idle keep-alive
// connection, a request stuck half-way through its head or its body (the
// timer must be armed after a partial read), a head that arrives in pieces,
// and pipelined requests that are already buffered.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGateway, configPath, randomToken, installExitGuard } from './lib/gateway.mjs';
import { sleep } from './lib/http.mjs';

installExitGuard();

const T = { timeout: 10_000 };
const IDLE_MS = 500;

// A raw connection that collects what the gateway sends and when it closes.
function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const conn = { socket, data: '', closedAt: null, openedAt: Date.now() };
    conn.closed = new Promise((done) => {
      socket.on('close', () => {
        conn.closedAt = Date.now();
        done();
      });
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      conn.data += chunk;
    });
    socket.on('error', () => {});
    socket.once('connect', () => resolve(conn));
    socket.once('error', reject);
  });
}

async function until(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const responses = (text) => (text.match(/HTTP\/1\.1 \d{3} /g) || []).length;

describe('client connection timeouts and partial reads', () => {
  let gw;
  let key;

  before(async () => {
    key = randomToken('sk-master');
    gw = await startGateway({ config: configPath('timeouts.yaml'), env: { TEST_MASTER_KEY: key } });
  });

  after(async () => {
    await gw?.stop();
  });

  const chatRequest = (content) => {
    const body = JSON.stringify({ model: 'mock-fast', messages: [{ role: 'user', content }] });
    return (
      'POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n' +
      `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    );
  };

  it('closes a keep-alive connection left idle after an answer, after about the idle timeout', T, async () => {
    const c = await connect(gw.port);
    c.socket.write(chatRequest('hello'));
    await until('the answer', () => c.data.includes('fast answer'), 3000);
    const answeredAt = Date.now();
    await c.closed;
    const idle = c.closedAt - answeredAt;
    assert.ok(idle >= IDLE_MS - 100, `closed after ${idle} ms, before the idle timeout`);
    assert.ok(idle < IDLE_MS + 1500, `closed only after ${idle} ms`);
    assert.equal(responses(c.data), 1);
  });

  // The cut request follows a complete one in the same write, so the gateway
  // finds its start already buffered when it goes on to the next request:
  // the idle timer must be armed for the rest even so.
  // Sends a complete health request followed by `cut` in one write, and
  // checks the one answer comes back and the connection is then closed after
  // about the idle timeout.
  async function expectIdleCloseAfterCutRequest(cut) {
    const c = await connect(gw.port);
    c.socket.write('GET /_health/live HTTP/1.1\r\nHost: gw\r\n\r\n' + cut);
    await until('the first answer', () => c.data.includes('"status":"alive"'), 3000);
    const answeredAt = Date.now();
    await c.closed;
    const took = c.closedAt - answeredAt;
    assert.ok(took >= IDLE_MS - 100 && took < IDLE_MS + 1500, `closed after ${took} ms`);
    assert.equal(responses(c.data), 1);
  }

  it('closes a connection whose request head stops half-way', T, async () => {
    await expectIdleCloseAfterCutRequest('GET /_health/live HTTP/1.1\r\nHost: gw\r\n');
  });

  it('closes a connection whose request body stops half-way', T, async () => {
    const full = chatRequest('cut short');
    await expectIdleCloseAfterCutRequest(full.slice(0, full.length - 10));
  });

  it('answers a request whose head and body arrive in pieces', T, async () => {
    const c = await connect(gw.port);
    const full = chatRequest('in pieces');
    const cut1 = 20;
    const cut2 = full.indexOf('\r\n\r\n') + 6;
    c.socket.write(full.slice(0, cut1));
    await sleep(100);
    c.socket.write(full.slice(cut1, cut2));
    await sleep(100);
    c.socket.write(full.slice(cut2));
    await until('the answer', () => c.data.includes('fast answer'), 3000);
    assert.match(c.data, /^HTTP\/1\.1 200 /);
    c.socket.destroy();
  });

  it('answers pipelined requests sent in one write, in order', T, async () => {
    const c = await connect(gw.port);
    c.socket.write(chatRequest('first') + 'GET /_health/live HTTP/1.1\r\nHost: gw\r\n\r\n' + chatRequest('third'));
    await until('three answers', () => responses(c.data) === 3 && c.data.endsWith('}'), 3000);
    const first = c.data.indexOf('fast answer');
    const alive = c.data.indexOf('"status":"alive"');
    const third = c.data.lastIndexOf('fast answer');
    assert.ok(first >= 0 && alive > first && third > alive, c.data);
    c.socket.destroy();
  });
});
