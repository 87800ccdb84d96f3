// A throwaway PostgreSQL cluster for integration tests: initdb into a temp
// dir, pg_ctl start on a free port, stop and delete at the end. As root,
// every pg command runs as the `postgres` OS user (PostgreSQL refuses root).
// Binaries: $SWITCHYARD_PG_BIN, else the newest /usr/lib/postgresql/*/bin.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './http.mjs';

export function findPgBin() {
  if (process.env.SWITCHYARD_PG_BIN) return process.env.SWITCHYARD_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : null;
}


export async function startPostgres() {
  const bin = findPgBin();
  if (!bin) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-pg-'));
  const asRoot = process.getuid && process.getuid() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const pg = (tool, args) => {
    const cmd = path.join(bin, tool);
    if (asRoot) return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
    return execFileSync(cmd, args, { stdio: 'pipe' });
  };
  const port = await freePort();
  const data = path.join(dir, 'data');
  pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`;
  const cluster = {
    port,
    url: (db = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${db}`,
    start() {
      pg('pg_ctl', ['-D', data, '-w', '-t', '30', '-l', path.join(dir, 'server.log'), '-o', opts, 'start']);
    },
    stop(mode = 'fast') {
      pg('pg_ctl', ['-D', data, '-w', '-t', '30', '-m', mode, 'stop']);
    },
    createDatabase(name) {
      pg('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-q', '-c', `CREATE DATABASE ${name}`, 'postgres']);
      return cluster.url(name);
    },
    destroy() {
      try {
        cluster.stop('immediate');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cluster.start();
  return cluster;
}
