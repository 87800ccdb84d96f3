// A throwaway redis-server for integration tests: a free port, no
// persistence, a temp dir; stop() and start() again on the same port to
// simulate an outage. Returns null when redis-server is not installed.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { freePort } from './http.mjs';

export function findRedisServer() {
  if (process.env.SWITCHYARD_REDIS_SERVER) return process.env.SWITCHYARD_REDIS_SERVER;
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(p)) return p;
  return null;
}


function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startRedis() {
  const bin = findRedisServer();
  if (!bin) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-redis-'));
  const port = await freePort();
  let child = null;
  const redis = {
    port,
    async start() {
      child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
        stdio: 'ignore',
      });
      for (let i = 0; i < 200; i++) {
        if (await portOpen(port)) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('redis-server did not start');
    },
    async stop() {
      if (!child) return;
      const c = child;
      child = null;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL'); // an outage, not a clean shutdown
      await exited;
    },
    async close() {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  process.on('exit', () => child && child.kill('SIGKILL'));
  await redis.start();
  return redis;
}
