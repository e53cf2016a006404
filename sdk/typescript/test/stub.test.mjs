// What a real server cannot be made to do on demand: 5xx answers, slow answers. A local
// stub HTTP server gives them; the queue and the browser warning run with fakes.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { APITimeoutError, InternalServerError, Lehnz, LehnzError } from '../dist/esm/index.js';

let stub;
let url;
let handler;
const seen = [];

before(async () => {
  stub = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise((r) => stub.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${stub.address().port}`;
});
after(() => {
  stub.closeAllConnections();
  stub.close();
});

function reply(res, status, json, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(json));
}

const keys = { publishableKey: 'lehnz_pk_test', secretKey: 'lehnz_sk_test' };

test('a 5xx is retried with back-off, then succeeds', async () => {
  let n = 0;
  handler = (_req, res) =>
    ++n < 3
      ? reply(res, 503, { success: false, message: 'down', error: 'down', code: 'service_unavailable' })
      : reply(res, 200, { success: true, message: 'OK', data: { item_id: 'a' } });
  const sdk = new Lehnz({ baseUrl: url, ...keys });
  const started = Date.now();
  assert.equal((await sdk.items.get('a')).item_id, 'a');
  assert.equal(n, 3);
  assert.ok(Date.now() - started >= 700, 'backed off about 0.5 s then 1 s');
});

test('a 5xx past maxRetries throws InternalServerError; uploads.events is not retried', async () => {
  let n = 0;
  handler = (_req, res) => (n++, reply(res, 500, { success: false, message: 'bug', error: 'bug', code: 'internal_error' }));
  const sdk = new Lehnz({ baseUrl: url, ...keys, maxRetries: 1 });
  const error = await sdk.models.list().catch((e) => e);
  assert.ok(error instanceof InternalServerError && error instanceof LehnzError);
  assert.equal(error.status, 500);
  assert.equal(error.code, 'internal_error');
  assert.equal(n, 2);
  n = 0;
  await assert.rejects(sdk.uploads.events('user_id,event_name\na,view\n', { filename: 'e.csv' }), InternalServerError);
  assert.equal(n, 1);
});

test('APITimeoutError when no answer comes within timeoutMs', async () => {
  handler = () => {}; // never answers
  const sdk = new Lehnz({ baseUrl: url, ...keys, timeoutMs: 100, maxRetries: 0 });
  const started = Date.now();
  const error = await sdk.recommend({ user_id: 'x' }).catch((e) => e);
  assert.ok(error instanceof APITimeoutError, String(error));
  assert.equal(error.status, undefined);
  assert.ok(Date.now() - started < 5000); // gave up long before "never" (loose: busy machines)
  stub.closeAllConnections();
});

test('a caller’s abort signal stops the call and is not retried', async () => {
  handler = () => {};
  const sdk = new Lehnz({ baseUrl: url, ...keys });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('navigated away')), 50);
  await assert.rejects(sdk.recommend({ user_id: 'x' }, { signal: controller.signal }), /navigated away/);
  stub.closeAllConnections();
});

test('headers, URLs and bodies: keys by path, X-Domain, ids encoded, event_ids added', async () => {
  seen.length = 0;
  handler = (req, res) =>
    req.url.startsWith('/api/v1/events')
      ? reply(res, 202, { success: true, message: 'OK', data: { accepted: 1 } })
      : reply(res, 200, { success: true, message: 'OK', data: {}, all_item_ids: [] });
  const sdk = new Lehnz({ ingestionUrl: `${url}/api/v1`, recommendationsUrl: url, ...keys });
  await sdk.similarItems('a/b c?%', { limit: 2 });
  await sdk.similarItems('...');
  await sdk.items.get('x#1');
  await sdk.track({ user_id: 'u', event_name: 'view' });
  assert.deepEqual(
    seen.map((r) => r.url),
    ['/item/a%2Fb%20c%3F%25?limit=2', '/item/%2E%2E%2E', '/api/v1/items/x%231', '/api/v1/events/ingest'],
  );
  assert.equal(seen[0].headers['x-api-key'], 'lehnz_pk_test');
  assert.equal(seen[2].headers['x-api-key'], 'lehnz_sk_test');
  assert.ok(seen.every((r) => r.headers['x-domain'] === 'commerce'));
  const [event] = JSON.parse(seen[3].body);
  assert.match(event.event_id, /^[0-9a-f-]{36}$/);
});

test('track sends more than 1,000 events in batches of 1,000', async () => {
  seen.length = 0;
  handler = (_req, res, body) => reply(res, 202, { success: true, message: 'OK', data: { accepted: JSON.parse(body).length } });
  const sdk = new Lehnz({ baseUrl: url, ...keys });
  const events = Array.from({ length: 2500 }, (_, i) => ({ user_id: 'u', event_name: 'view', item_id: `i${i}` }));
  assert.deepEqual(await sdk.track(events), { accepted: 2500 });
  assert.deepEqual(seen.map((r) => JSON.parse(r.body).length), [1000, 1000, 500]);
});

test('queue: batches at flushAt, on its interval, on page hide with keepalive; close() flushes', async () => {
  const sent = [];
  const fakeFetch = async (_url, init) => {
    sent.push({ events: JSON.parse(init.body), keepalive: init.keepalive === true });
    return new Response(JSON.stringify({ success: true, message: 'OK', data: { accepted: 1 } }), { status: 202 });
  };
  const listeners = {};
  const doc = { visibilityState: 'visible', addEventListener: (n, f) => (listeners[n] = f), removeEventListener: (n) => delete listeners[n] };
  globalThis.document = doc;
  try {
    const sdk = new Lehnz({ baseUrl: 'http://shop.invalid', publishableKey: 'lehnz_pk_test', fetch: fakeFetch });
    const queue = sdk.queue({ flushAt: 3, flushIntervalMs: 50 });
    queue.track({ user_id: 'u', event_name: 'view', item_id: '1' });
    queue.track([
      { user_id: 'u', event_name: 'view', item_id: '2' },
      { user_id: 'u', event_name: 'view', item_id: '3' },
    ]);
    await queue.flush();
    assert.deepEqual(sent.map((b) => b.events.length), [3]);
    queue.identify({ user_id: 'k', previous_user_id: 'u' });
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(sent.at(-1).events[0].event_name, 'identify', 'sent on the interval');
    queue.track({ user_id: 'u', event_name: 'view', item_id: '4' });
    doc.visibilityState = 'hidden';
    listeners.visibilitychange();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(sent.at(-1).keepalive, true);
    assert.equal(sent.at(-1).events[0].item_id, '4');
    queue.track({ user_id: 'u', event_name: 'view', item_id: '5' });
    await queue.close();
    assert.equal(sent.at(-1).events[0].item_id, '5');
    assert.equal(listeners.visibilitychange, undefined);
    assert.throws(() => queue.track({ user_id: 'u', event_name: 'view' }), /closed/);
    assert.ok(sent.every((b) => b.events.every((e) => typeof e.event_id === 'string')));
  } finally {
    delete globalThis.document;
  }
});

test('a secret key in a browser logs one warning', () => {
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(' '));
  globalThis.window = {};
  try {
    new Lehnz({ baseUrl: url, secretKey: 'lehnz_sk_test' });
    new Lehnz({ baseUrl: url, secretKey: 'lehnz_sk_test' });
    new Lehnz({ baseUrl: url, publishableKey: 'lehnz_pk_test' });
  } finally {
    delete globalThis.window;
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /secret key/);
});

test('the CommonJS build loads and has the same classes', async () => {
  const { createRequire } = await import('node:module');
  const cjs = createRequire(import.meta.url)('lehnz');
  assert.equal(typeof cjs.Lehnz, 'function');
  assert.ok(new cjs.NotFoundError('x') instanceof cjs.LehnzError);
});
