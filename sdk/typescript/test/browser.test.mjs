// The browser queue in a real browser: headless Chromium loads a page that imports dist/esm,
// queues events and leaves; the queue must send them on page hide (keepalive fetch, CORS
// preflight included) to a real `lehnz serve`, each stored once.
// Skipped when Chromium is missing, unless LEHNZ_TEST_REQUIRE_BROWSER=1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { Lehnz } from '../dist/esm/index.js';
import { newOrganisation, startServer } from './support/server.mjs';

const CHROMIUM = process.env.LEHNZ_CHROMIUM ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
const requireBrowser = process.env.LEHNZ_TEST_REQUIRE_BROWSER === '1';
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

// The page: queues `n` events for `user` (nothing flushes by itself: flushAt 1,000, an hour's
// interval), notes in sessionStorage what waits before leaving and what waits once the
// queue's own page-hide listeners have run (registered after them, so they run after them),
// then goes to gone.html, which posts the notes back to the site.
const INDEX = `<!doctype html>
<meta charset="utf-8">
<title>lehnz queue</title>
<script type="module">
import { Lehnz } from './dist/esm/index.js';
const q = new URLSearchParams(location.search);
const note = (key, value) => sessionStorage.setItem(key, JSON.stringify(value));
const notes = [];
try {
  const client = new Lehnz({ publishableKey: q.get('pk'), baseUrl: q.get('base') });
  const queue = client.queue({
    flushAt: 1000,
    flushIntervalMs: 3_600_000,
    maxQueueSize: 100_000,
    onError: (error, events) => {
      notes.push('error ' + events.length + ': ' + String(error && error.message));
      note('errors', notes);
    },
  });
  const user = q.get('user');
  const n = Number(q.get('n'));
  const perCall = Number(q.get('perCall') || 1);
  for (let i = 0; i < n; i += perCall) {
    const events = [];
    for (let j = i; j < Math.min(n, i + perCall); j++) events.push({ user_id: user, event_name: 'view', item_id: 'item-' + j });
    queue.track(events);
  }
  note('before', queue.size);
  const seen = [];
  const onHide = (event) => {
    seen.push(event.type + ' ' + document.visibilityState + ' ' + queue.size);
    note('hide', seen);
  };
  addEventListener('pagehide', onHide);
  document.addEventListener('visibilitychange', onHide);
  // Leave at once, well before any interval; a task later, so that the queue's own microtasks ran.
  setTimeout(() => {
    note('leaving', queue.size);
    location.href = '/gone.html';
  }, 0);
} catch (error) {
  note('errors', ['page: ' + String(error && error.stack || error)]);
  location.href = '/gone.html';
}
</script>
`;

const GONE = `<!doctype html>
<meta charset="utf-8">
<title>gone</title>
<script>
const out = {};
for (const key of ['before', 'leaving', 'hide', 'errors']) {
  const value = sessionStorage.getItem(key);
  out[key] = value === null ? null : JSON.parse(value);
}
fetch('/notes', { method: 'POST', body: JSON.stringify(out) });
</script>
`;

/** A static site: index.html, gone.html and dist/; gone.html posts the page's notes to /notes. */
function startSite() {
  let onNotes = () => {};
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const send = (status, type, body) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (path === '/' || path === '/index.html') return send(200, 'text/html; charset=utf-8', INDEX);
    if (path === '/gone.html') return send(200, 'text/html; charset=utf-8', GONE);
    if (path === '/notes' && req.method === 'POST') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        send(204, 'text/plain', '');
        onNotes(JSON.parse(body));
      });
      return undefined;
    }
    if (path.startsWith('/dist/')) {
      const file = normalize(join(dist, path.slice('/dist/'.length)));
      if (file.startsWith(dist) && file.endsWith('.js') && existsSync(file)) {
        return send(200, 'text/javascript; charset=utf-8', readFileSync(file));
      }
    }
    send(404, 'text/plain', 'not found');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        /** The next notes gone.html posts. */
        notes: () => new Promise((r) => (onNotes = r)),
        close: () => {
          server.closeAllConnections();
          return new Promise((r) => server.close(r));
        },
      });
    });
  });
}

/**
 * Opens `pageUrl` in headless Chromium (its own process group, killed afterwards with its
 * profile) and waits for `until` (at most 20 s).
 */
async function inChromium(pageUrl, until) {
  const profile = mkdtempSync(join(tmpdir(), 'lehnz-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-extensions',
    '--no-first-run',
    `--user-data-dir=${profile}`,
    pageUrl,
  ];
  const child = spawn(CHROMIUM, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let timer;
  try {
    return await Promise.race([
      until,
      exited.then((code) => {
        throw new Error(`Chromium exited (${code}) before the page was done:\n${stderr}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Chromium: the page was not done within 20 s:\n${stderr}`)), 15_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Skips the test when there is no Chromium (fails instead with LEHNZ_TEST_REQUIRE_BROWSER=1). */
function noBrowser(t) {
  if (haveBrowser) return false;
  if (requireBrowser) throw new Error(`LEHNZ_TEST_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing`);
  t.skip(`no ${CHROMIUM} (LEHNZ_CHROMIUM names another)`);
  return true;
}

describe('the browser queue in headless Chromium', () => {
  let server;
  let site;
  let org;
  let admin;

  before(async () => {
    if (!haveBrowser) return;
    [server, site] = await Promise.all([startServer(), startSite()]);
    org = await newOrganisation(server.url);
    admin = new Lehnz({ baseUrl: server.url, secretKey: org.secretKey });
  });
  after(async () => {
    await site?.close();
    await server?.stop();
  });

  /** The user's events, once `n` are stored (or what is there after `ms`). */
  async function storedEvents(user, n, ms = 10_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const events = [];
      let cursor;
      do {
        const page = await admin.users.events(user, { limit: 1000, ...(cursor ? { before: cursor } : {}) });
        events.push(...page.events);
        cursor = page.next;
      } while (cursor);
      if (events.length >= n || Date.now() > deadline) return events;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Opens the page for `n` events and, the browser still running (keepalive requests may still be going), polls for them. */
  async function queueAndLeave(n, perCall = 1, waitMs = 10_000) {
    const user = `browser-${process.pid}-${Date.now()}-${n}`;
    const query = new URLSearchParams({ pk: org.publishableKey, base: server.url, user, n: String(n), perCall: String(perCall) });
    return inChromium(`${site.url}/index.html?${query}`, (async () => {
      const notes = await site.notes();
      return { user, notes, events: await storedEvents(user, n, waitMs) };
    })());
  }

  function assertEachOnce(events, n) {
    assert.equal(events.length, n, `${events.length} events stored, ${n} queued`);
    const items = events.map((e) => e.item_id).sort();
    assert.deepEqual(items, Array.from({ length: n }, (_, i) => `item-${i}`).sort());
  }

  test('queued events are sent on page hide (keepalive, CORS preflight), each once', async (t) => {
    if (noBrowser(t)) return;
    const n = 25;
    const { notes, events } = await queueAndLeave(n);
    assert.equal(notes.errors, null, `the page or the queue reported errors: ${JSON.stringify(notes.errors)}`);
    assert.equal(notes.before, n, 'nothing was sent before leaving');
    assert.equal(notes.leaving, n, 'nothing was sent before leaving');
    assert.ok(notes.hide?.length > 0, 'the page saw pagehide/visibilitychange');
    assert.ok(notes.hide.every((s) => s.endsWith(' 0')), `the queue was empty after its own page-hide listener: ${notes.hide}`);
    assertEachOnce(events, n);
  });

  // Chromium allows 64 KiB of keepalive bodies in flight per page, about 580 events like these:
  // more cannot all go with keepalive (it refuses the fetch: "Failed to fetch"). 900 events
  // (~100 KB, under flushAt, so all still queued when leaving): those within the limit go
  // with keepalive, the rest at once without it (best effort: the page may be gone first).
  test('more than the keepalive limit: no keepalive fetch refused, what arrives arrives once', async (t) => {
    if (noBrowser(t)) return;
    const n = 900;
    const { notes, events } = await queueAndLeave(n, n, 3_000);
    assert.equal(notes.errors, null, `the page or the queue reported errors: ${JSON.stringify(notes.errors)}`);
    assert.equal(notes.leaving, n, 'nothing was sent before leaving');
    assert.ok(notes.hide.every((s) => s.endsWith(' 0')), `the queue was empty after its own page-hide listener: ${notes.hide}`);
    const items = events.map((e) => e.item_id);
    assert.equal(new Set(items).size, items.length, 'no event stored twice');
    assert.ok(items.every((item) => /^item-\d+$/.test(item) && Number(item.slice(5)) < n));
    assert.ok(events.length >= 400, `${events.length} events stored: fewer than fit the keepalive limit`);
    t.diagnostic(`${events.length} of ${n} events stored (the keepalive share and the best-effort rest)`);
  });
});
