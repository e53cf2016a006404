// 5xx answers and timeouts from a real `lehnz serve` (stub.test.mjs keeps what no server can be
// made to do on demand, such as a 500). Server A registers an organisation with its keys and
// takes the timeouts; then it stops, and server B starts on A's data directory with Redis at a
// port nothing listens on and LEHNZ_RATE_LIMIT_FAILURE=closed, so every request made with a key
// is refused: 503 `service_unavailable`, `Retry-After: 5`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  APIConnectionError,
  APITimeoutError,
  InternalServerError,
  Lehnz,
  LehnzError,
  RateLimitError,
} from '../dist/esm/index.js';
import { freePort, newOrganisation, startServer } from './support/server.mjs';

const dataDir = mkdtempSync(join(tmpdir(), 'lehnz-sdk-failures-'));
let a;
let b;
let org;

before(async () => {
  a = await startServer({}, { dataDir });
  org = await newOrganisation(a.url);
});
after(async () => {
  await a?.stop();
  await b?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A client of `url` with the organisation's keys; `calls` gets the start time of each attempt. */
function clientOf(url, options = {}, calls = []) {
  return new Lehnz({
    baseUrl: url,
    publishableKey: org.publishableKey,
    secretKey: org.secretKey,
    fetch: (input, init) => (calls.push(Date.now()), fetch(input, init)),
    ...options,
  });
}

/** How many of server B's access lines so far are `METHOD PATH` answered with `status`. */
function answered(method, path, status) {
  return b.log().split('\n').filter((line) => line.includes(`"${method} ${path} HTTP/1.1" ${status} `)).length;
}

describe('a real timeout (server A)', () => {
  before(async () => {
    const sdk = clientOf(a.url);
    await sdk.items.upsert([{ item_id: 'mug-1' }, { item_id: 'mug-2' }, { item_id: 'plate-1' }]);
    await sdk.track([
      { user_id: 'u-1', event_name: 'purchase', item_id: 'mug-1' },
      { user_id: 'u-1', event_name: 'purchase', item_id: 'mug-2' },
      { user_id: 'u-2', event_name: 'purchase', item_id: 'mug-1' },
      { user_id: 'u-2', event_name: 'view', item_id: 'plate-1' },
    ]);
  });

  test('models.train answering later than timeoutMs throws APITimeoutError, not retried', async () => {
    const calls = [];
    const sdk = clientOf(a.url, { maxRetries: 2 }, calls);
    const started = Date.now();
    const error = await sdk.models.train({ timeoutMs: 5 }).catch((e) => e);
    assert.ok(error instanceof APITimeoutError && error instanceof APIConnectionError, String(error));
    assert.ok(error instanceof LehnzError);
    assert.equal(error.status, undefined);
    assert.match(error.message, /POST \/api\/v1\/models\/train: no answer within 5 ms/);
    assert.equal(calls.length, 1, 'training is not idempotent: not retried');
    assert.ok(Date.now() - started < 2000);
  });

  test('an idempotent call that times out is retried (maxRetries 1: two attempts), then throws', async () => {
    const calls = [];
    const sdk = clientOf(a.url, { timeoutMs: 1, maxRetries: 1 }, calls);
    const error = await sdk.recommend({ user_id: 'u-1', limit: 2 }).catch((e) => e);
    assert.ok(error instanceof APITimeoutError, String(error));
    assert.equal(calls.length, 2);
    // The server was only slower than the client's patience: with the default timeout it answers.
    const answer = await clientOf(a.url).recommend({ user_id: 'u-1', limit: 2 });
    assert.ok(answer.recommendation_id);
  });
});

describe('a real 503 (server B: Redis unreachable, LEHNZ_RATE_LIMIT_FAILURE=closed)', () => {
  before(async () => {
    await a.stop();
    const redis = `redis://127.0.0.1:${await freePort()}`;
    b = await startServer({ LEHNZ_REDIS_URL: redis, LEHNZ_RATE_LIMIT_FAILURE: 'closed' }, { dataDir });
  });

  function assertRefused(error) {
    assert.ok(error instanceof InternalServerError && error instanceof LehnzError, String(error));
    assert.ok(!(error instanceof RateLimitError));
    assert.equal(error.status, 503);
    assert.equal(error.code, 'service_unavailable');
    assert.match(error.message, /cannot be counted right now; retry in 5 s/);
    assert.equal(typeof error.detail, 'string');
    assert.equal(error.headers.get('retry-after'), '5');
  }

  test('maxRetries 0: InternalServerError 503 service_unavailable with Retry-After 5, for either key', async () => {
    const calls = [];
    const sdk = clientOf(b.url, { maxRetries: 0 }, calls);
    const before503 = answered('POST', '/recommend', 503);
    assertRefused(await sdk.recommend({ user_id: 'u-1' }).catch((e) => e)); // publishable key
    assertRefused(await sdk.items.get('mug-1').catch((e) => e)); // secret key
    assertRefused(await sdk.track({ user_id: 'u-1', event_name: 'view' }).catch((e) => e));
    assert.equal(calls.length, 3);
    assert.equal(answered('POST', '/recommend', 503) - before503, 1, 'the server saw one attempt');
  });

  test('a Retry-After over maxRetryDelayMs is not waited for', async () => {
    const calls = [];
    const sdk = clientOf(b.url, { maxRetries: 3, maxRetryDelayMs: 1000 }, calls);
    const started = Date.now();
    assertRefused(await sdk.models.list().catch((e) => e));
    assert.equal(calls.length, 1);
    // Far below the 5 s it would have waited (the bound is loose: CI machines are busy).
    assert.ok(Date.now() - started < 4000);
  });

  test('maxRetries 1: Retry-After is waited out (5 s) before the second and last attempt', async () => {
    const calls = [];
    const sdk = clientOf(b.url, { maxRetries: 1 }, calls);
    const seen = answered('GET', '/api/v1/models', 503);
    const started = Date.now();
    assertRefused(await sdk.models.list().catch((e) => e));
    const elapsed = Date.now() - started;
    assert.equal(calls.length, 2);
    assert.ok(calls[1] - calls[0] >= 5000, `waited ${calls[1] - calls[0]} ms between the attempts`);
    assert.ok(elapsed < 20000, `took ${elapsed} ms`); // no third wait (loose: busy machines)
    assert.equal(answered('GET', '/api/v1/models', 503) - seen, 2, 'the server saw two attempts');
  });
});
