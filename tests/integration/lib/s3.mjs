// A real S3 API server on loopback for the config-sync tests, with objects
// uploaded by the AWS CLI (`aws --endpoint-url`).
//
// Server: `moto_server` when it is on PATH (the machine image has it), else
// `s3rver` from npm (pinned in package-lock.json, so `npm ci` always
// provides it). SWITCHYARD_S3_SERVER=moto|s3rver picks one explicitly.
// Neither verifies SigV4 signatures (s3rver checks only the access key id,
// S3RVER), so signing is covered by the unit tests against AWS's published
// vectors; these tests cover addressing, ETags, conditional GETs, errors
// and outages.

import { spawn, spawnSync, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './gateway.mjs';
import { freePort } from './http.mjs';

export { freePort };

const S3RVER_BIN = path.join(REPO_ROOT, 'node_modules', '.bin', 's3rver');

export const S3_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
};

function onPath(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Which server can run here, or undefined (with the reason in `why`). */
export function availableS3Server() {
  const wanted = process.env.SWITCHYARD_S3_SERVER;
  const moto = onPath('moto_server');
  const s3rver = existsSync(S3RVER_BIN);
  if (!onPath('aws')) return { why: 'the AWS CLI (aws) is not installed (scripts/install-deps.sh installs awscli)' };
  if (wanted === 'moto') return moto ? { kind: 'moto' } : { why: 'SWITCHYARD_S3_SERVER=moto but moto_server is not on PATH' };
  if (wanted === 's3rver') return s3rver ? { kind: 's3rver' } : { why: 's3rver is not installed (npm ci)' };
  if (moto) return { kind: 'moto' };
  if (s3rver) return { kind: 's3rver' };
  return { why: 'neither moto_server nor s3rver (npm ci) is available' };
}


async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`S3 server did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * Starts the server on a free port. Returns {kind, endpoint, env, aws(args),
 * upload(bucket, key, file), makeBucket(bucket), stop(), start()}; start()
 * after stop() brings it back on the same port (moto keeps objects in
 * memory, so they are gone; s3rver keeps its directory).
 */
export async function startS3Server(kind) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-s3-'));
  const endpoint = `http://127.0.0.1:${port}`;
  let child = null;
  const output = [];
  const server = {
    kind,
    endpoint,
    port,
    /** Environment for the gateway and the CLI. */
    env: { ...S3_CREDENTIALS, AWS_ENDPOINT_URL: endpoint, AWS_EC2_METADATA_DISABLED: 'true' },
    async start() {
      const args =
        kind === 'moto'
          ? ['-H', '127.0.0.1', '-p', String(port)]
          : ['-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent'];
      child = spawn(kind === 'moto' ? 'moto_server' : S3RVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d) => output.push(String(d)));
      child.stderr.on('data', (d) => output.push(String(d)));
      await waitForPort(port, 20_000);
    },
    async stop() {
      if (!child) return;
      const c = child;
      child = null;
      const closed = new Promise((r) => c.once('close', r));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
      await closed;
      clearTimeout(timer);
    },
    /** Runs `aws --endpoint-url … args`; rejects with stderr on failure. */
    aws(args) {
      return new Promise((resolve, reject) => {
        execFile(
          'aws',
          ['--endpoint-url', endpoint, ...args],
          { env: { ...process.env, ...server.env, AWS_PAGER: '' }, timeout: 60_000 },
          (err, stdout, stderr) => (err ? reject(new Error(`aws ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)),
        );
      });
    },
    async makeBucket(bucket) {
      await server.aws(['s3api', 'create-bucket', '--bucket', bucket]).catch((err) => {
        if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(err.message)) throw err;
      });
    },
    async upload(bucket, key, file) {
      await server.aws(['s3', 'cp', '--only-show-errors', file, `s3://${bucket}/${key}`]);
      const head = JSON.parse(await server.aws(['s3api', 'head-object', '--bucket', bucket, '--key', key]));
      return head.ETag;
    },
    output,
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
