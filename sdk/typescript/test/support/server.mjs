// A real `lehnz serve` for the tests: started on a free port with its own data directory,
// logged to a file (shown when it fails to start), stopped when the test file ends.
// Given `{ dataDir }`, it runs on that directory instead, which it leaves in place when it
// stops (so that a second server can start on the first one's data).
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const LEHNZ = process.env.LEHNZ_BIN ?? join(here, '..', '..', '..', '..', '.venv', 'bin', 'lehnz');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startServer(env = {}, { dataDir: given } = {}) {
  const dataDir = given ?? mkdtempSync(join(tmpdir(), 'lehnz-sdk-test-'));
  const port = await freePort();
  const logPath = join(dataDir, 'server.log');
  const log = openSync(logPath, 'w');
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LEHNZ_')));
  const child = spawn(LEHNZ, ['serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port)], {
    env: {
      ...clean,
      LEHNZ_TRAIN_CHECK_SECONDS: '3600',
      LEHNZ_AUTH_RATE_LIMIT_REQUESTS: '1000',
      ...env,
    },
    stdio: ['ignore', log, log],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`lehnz serve exited:\n${readFileSync(logPath, 'utf8')}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`lehnz serve did not start:\n${readFileSync(logPath, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    logPath,
    /** The server's output so far: its access lines (`"POST /recommend HTTP/1.1" 503 ...`) included. */
    log: () => readFileSync(logPath, 'utf8'),
    async stop() {
      // Once stopped by its signal, a process has exitCode null and signalCode set: no second wait.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (given === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** Registers an organisation; returns its developer token and a publishable and a secret key. */
export async function newOrganisation(url) {
  counter += 1;
  const email = `sdk-${process.pid}-${Date.now()}-${counter}@example.com`;
  const body = { email, password: 'correct horse battery', organization_name: `SDK test ${counter}` };
  const reg = await api(url, 'POST', '/api/v1/auth/register', { body });
  const token = reg.data.token;
  const keys = {};
  for (const type of ['publishable', 'secret']) {
    const created = await api(url, 'POST', '/api/v1/keys', { token, body: { type, name: `sdk ${type}` } });
    keys[type] = created.data.key;
  }
  return { email, registration: body, token, publishableKey: keys.publishable, secretKey: keys.secret };
}

/** Sets the organisation's own rate-limit window. */
export async function setRateLimit(url, token, requests, windowSeconds) {
  await api(url, 'PUT', '/api/v1/settings/rate_limit', { token, body: { requests, window_seconds: windowSeconds } });
}

async function api(url, method, path, { token, body } = {}) {
  const headers = { 'X-Domain': 'commerce', 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
