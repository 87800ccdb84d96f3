// Start / stop the Switchyard binary for integration tests.
//
// startGateway() spawns `switchyard serve --config FILE --host 127.0.0.1 --port 0`,
// waits (10 s max) for the `{"msg":"listening",...,"port":N}` JSON line on
// stderr, and collects every stdout / stderr line. Every spawned process is
// remembered and SIGKILLed when the test process exits, even on failure.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
export const CONFIG_DIR = path.resolve(here, '..', 'configs');
export const SWITCHYARD_BIN = process.env.SWITCHYARD_BIN || path.join(REPO_ROOT, 'build', 'switchyard');

export const STARTUP_TIMEOUT_MS = 10_000;

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Call once at the top level of every test file. Node 20's test runner waits
 * for each test file's process to exit by itself, so one leaked socket or
 * timer would hang the whole run; after the file's last hook this gives the
 * process a few seconds to exit normally, then forces it (the exit handler
 * above SIGKILLs any gateway still alive). The timer is unref'd, so it never
 * delays a clean exit.
 */
export function installExitGuard(graceMs = 3000) {
  after(() => {
    setTimeout(() => {
      process.stderr.write(`integration: handles still open ${graceMs} ms after the last test; forcing exit\n`);
      process.exit();
    }, graceMs).unref();
  });
}

const dataDirs = [];
process.on('exit', () => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the test process exits. */
export function tempDataDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-data-'));
  dataDirs.push(dir);
  return dir;
}

export function configPath(name) {
  return path.join(CONFIG_DIR, name);
}

export function randomToken(prefix) {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

export function assertBinaryExists() {
  if (!existsSync(SWITCHYARD_BIN)) {
    throw new Error(
      `switchyard binary not found at ${SWITCHYARD_BIN}; build it (cmake --build build) or set SWITCHYARD_BIN`,
    );
  }
}

/** Environment for child processes: the test's environment minus anything that could change the gateway's config lookup. */
export function baseEnv(extra = {}) {
  const env = { ...process.env };
  delete env.LITELLM_CONFIG_PATH;
  delete env.CONFIG_FILE_PATH;
  return { ...env, ...extra };
}

function lineCollector(stream, sink, onLine) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let idx;
    while ((idx = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, idx).replace(/\r$/, '');
      buf = buf.slice(idx + 1);
      sink.push(line);
      onLine(line);
    }
  });
  stream.on('end', () => {
    if (buf.length) {
      sink.push(buf);
      onLine(buf);
      buf = '';
    }
  });
}

export function tryParseJson(line) {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * Run the binary to completion (for CLI tests). Resolves with {code, signal, stdout, stderr}.
 * Kills the process and rejects after timeoutMs.
 */
export function runCli(args, { env = baseEnv(), cwd, timeoutMs = 10_000 } = {}) {
  assertBinaryExists();
  // Never the default data dir (/app/data): a test run must not write
  // outside its temporary directories, even as root. A test that wants the
  // default on purpose (for a command that writes nothing) passes
  // SWITCHYARD_DATA_DIR: ''.
  const childEnv = 'SWITCHYARD_DATA_DIR' in env ? env : { ...env, SWITCHYARD_DATA_DIR: tempDataDir() };
  return new Promise((resolve, reject) => {
    const child = spawn(SWITCHYARD_BIN, args, { env: childEnv, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchyard ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Spawn `switchyard serve` and wait until it reports that it is listening.
 * Returns a handle with port/baseUrl, collected output and stop().
 */
export async function startGateway({ config, env = {}, extraArgs = [], startupTimeoutMs = STARTUP_TIMEOUT_MS } = {}) {
  assertBinaryExists();
  const args = ['serve', '--config', config, '--host', '127.0.0.1', '--port', '0', ...extraArgs];
  // Each gateway gets its own data dir (embedded SQLite store) unless the
  // test shares one on purpose.
  const dataEnv = env.SWITCHYARD_DATA_DIR ? {} : { SWITCHYARD_DATA_DIR: tempDataDir() };
  const child = spawn(SWITCHYARD_BIN, args, { env: baseEnv({ ...dataEnv, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);

  const stdoutLines = [];
  const stderrLines = [];
  const lineWaiters = new Set();
  const notify = () => {
    for (const w of [...lineWaiters]) w();
  };

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      notify();
      resolve(exitInfo);
    });
  });
  let spawnError = null;
  child.on('error', (err) => {
    spawnError = err;
    notify();
  });

  let listening = null;
  lineCollector(child.stdout, stdoutLines, notify);
  lineCollector(child.stderr, stderrLines, (line) => {
    const obj = tryParseJson(line);
    if (!listening && obj && obj.msg === 'listening' && Number.isInteger(obj.port) && obj.port > 0) {
      listening = obj;
    }
    notify();
  });

  const dump = () =>
    `\n--- gateway stderr ---\n${stderrLines.join('\n')}\n--- gateway stdout ---\n${stdoutLines.join('\n')}\n`;

  const handle = {
    child,
    pid: child.pid,
    stdoutLines,
    stderrLines,
    exited,
    dump,
    get exitInfo() {
      return exitInfo;
    },
    /** All stdout + stderr so far as one string. */
    allOutput() {
      return `${stdoutLines.join('\n')}\n${stderrLines.join('\n')}`;
    },
    /** Parsed JSON objects from stdout (the access log). */
    accessLog() {
      return stdoutLines.map(tryParseJson).filter((o) => o && typeof o === 'object');
    },
    /** Wait for an access-log entry matching pred. */
    waitForAccessLog(pred, timeoutMs = 3000) {
      return handle.waitFor(() => handle.accessLog().find(pred), timeoutMs, 'access log line');
    },
    /** Generic waiter, re-evaluated whenever a line arrives or the process exits. */
    waitFor(check, timeoutMs, what) {
      try {
        const v = check();
        if (v) return Promise.resolve(v);
      } catch (err) {
        return Promise.reject(err);
      }
      return new Promise((resolve, reject) => {
        const poll = setInterval(() => waiter(), 50);
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${dump()}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          clearInterval(poll);
          lineWaiters.delete(waiter);
        };
        const waiter = () => {
          let r;
          try {
            r = check();
          } catch (err) {
            cleanup();
            reject(err);
            return;
          }
          if (r) {
            cleanup();
            resolve(r);
          }
        };
        lineWaiters.add(waiter);
      });
    },
    kill(signal = 'SIGTERM') {
      if (exitInfo === null) child.kill(signal);
    },
    /** SIGTERM, then SIGKILL after graceMs. Always resolves with the exit info. */
    async stop(graceMs = 5000) {
      if (exitInfo !== null) return exitInfo;
      child.kill('SIGTERM');
      let t;
      const timeout = new Promise((resolve) => {
        t = setTimeout(resolve, graceMs, 'timeout');
      });
      const r = await Promise.race([exited, timeout]);
      clearTimeout(t);
      if (r === 'timeout') {
        child.kill('SIGKILL');
        return exited;
      }
      return r;
    },
  };

  try {
    await handle.waitFor(
      () => {
        if (spawnError) throw spawnError;
        if (exitInfo) throw new Error(`gateway exited during startup (code ${exitInfo.code}, signal ${exitInfo.signal})${dump()}`);
        return listening;
      },
      startupTimeoutMs,
      'the "listening" log line',
    );
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }

  handle.port = listening.port;
  handle.baseUrl = `http://127.0.0.1:${listening.port}`;
  handle.listening = listening;
  return handle;
}
