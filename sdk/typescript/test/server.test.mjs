// Every method and every error class, against a real `lehnz serve`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  Lehnz,
  LehnzError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
} from '../dist/esm/index.js';
import { freePort, newOrganisation, setRateLimit, startServer } from './support/server.mjs';

let server;
let org;
let client;

before(async () => {
  server = await startServer();
  org = await newOrganisation(server.url);
  client = new Lehnz({ baseUrl: server.url, publishableKey: org.publishableKey, secretKey: org.secretKey });
});
after(async () => {
  await server?.stop();
});

const ITEMS = [
  { item_id: 'mug-1', attributes: { name: 'Blue mug', category: 'kitchen', price: 8 } },
  { item_id: 'mug-2', attributes: { name: 'Red mug', category: 'kitchen', price: 9 } },
  { item_id: 'plate-1', attributes: { name: 'White plate', category: 'kitchen', price: 12 } },
  { item_id: 'shoes/42', attributes: { name: 'Running shoes', category: 'shoes', price: 80 } },
  { item_id: '...', attributes: { name: 'Dots', category: 'misc', price: 1 } },
];

describe('catalog, events, recommendations and models', () => {
  test('items.upsert, get, delete (ids percent-encoded)', async () => {
    const result = await client.items.upsert(ITEMS);
    assert.deepEqual(result, { upserted: 5, created: 5, updated: 0 });
    const shoes = await client.items.get('shoes/42');
    assert.equal(shoes.item_id, 'shoes/42');
    assert.equal(shoes.attributes.price, 80);
    assert.equal((await client.items.get('...')).item_id, '...');
    await client.items.upsert({ item_id: 'gone' });
    const deleted = await client.items.delete('gone');
    assert.ok(deleted);
    assert.equal((await client.items.get('gone')).status, 'deleted');
    await assert.rejects(client.items.get('..'), (e) => e instanceof LehnzError && e.code === 'invalid_id');
  });

  test('users.upsert, get, events, delete', async () => {
    assert.equal((await client.users.upsert([{ user_id: 'u-1', attributes: { tier: 'gold' } }])).upserted, 1);
    assert.equal((await client.users.get('u-1')).attributes.tier, 'gold');
    await client.users.upsert({ user_id: 'u 2/x' });
    assert.equal((await client.users.get('u 2/x')).user_id, 'u 2/x');
    const erased = await client.users.delete('u 2/x');
    assert.equal(erased.user_id, 'u 2/x');
    await assert.rejects(client.users.get('u 2/x'), NotFoundError);
  });

  test('track, identify and users.events; event_ids make a resent batch count once', async () => {
    const events = [
      { user_id: 'anon-1', event_name: 'view', item_id: 'mug-1' },
      { user_id: 'anon-1', event_name: 'add_to_cart', item_id: 'mug-1' },
    ];
    const first = await client.track(events);
    assert.deepEqual(first, { accepted: 2 });
    assert.equal(events[0].event_id, undefined, 'the caller’s events are not changed');
    const one = await client.track({ user_id: 'buyer-1', event_name: 'purchase', item_id: 'mug-2' });
    assert.equal(one.accepted, 1);

    // The same batch twice, with the same event_ids: stored once.
    const batch = [
      { user_id: 'idem-1', event_name: 'view', item_id: 'mug-1', event_id: 'e-1' },
      { user_id: 'idem-1', event_name: 'click', item_id: 'mug-2', event_id: 'e-2' },
    ];
    await client.track(batch);
    await client.track(batch);
    const page = await client.users.events('idem-1');
    assert.deepEqual(page.events.map((e) => e.event_id).sort(), ['e-1', 'e-2']);

    assert.equal((await client.identify({ user_id: 'known-1', previous_user_id: 'anon-1' })).accepted, 1);
    // Identity stitching runs in the pipeline, within moments of the event.
    let stitched;
    for (let i = 0; i < 100; i++) {
      stitched = await client.users.events('known-1', { limit: 2 });
      if (stitched.user_ids.includes('anon-1')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(stitched.user_id, 'known-1');
    assert.ok(stitched.user_ids.includes('anon-1'));
    assert.equal(stitched.events.length, 2);
    assert.equal(stitched.events[0].event_name, 'identify');
    assert.ok(stitched.events.every((e) => typeof e.event_id === 'string' && e.event_id.length > 0));
    const next = await client.users.events('known-1', { limit: 2, before: stitched.next });
    assert.equal(next.events.length, 1);
  });

  test('uploads.items, users, events (string, bytes, Blob)', async () => {
    const items = await client.uploads.items('item_id,name,category,price\ncup-1,Cup,kitchen,4\ncup-2,Cup 2,kitchen,5\n', {
      filename: 'items.csv',
    });
    assert.equal(items.kind, 'items');
    assert.equal(items.format, 'csv');
    assert.equal(items.imported, 2);
    const users = await client.uploads.users(new TextEncoder().encode('{"user_id": "up-1"}\n{"user_id": "up-2"}\n'), {
      filename: 'users.ndjson',
    });
    assert.equal(users.imported, 2);
    const events = await client.uploads.events(
      new Blob([JSON.stringify([{ user_id: 'up-1', event_name: 'purchase', item_id: 'cup-1' }])]),
      { filename: 'events.json' },
    );
    assert.equal(events.imported, 1);
    const strict = client.uploads.items('item_id,name\n,no id\n', { filename: 'bad.csv', strict: true });
    await assert.rejects(strict, BadRequestError);
  });

  test('models.train and models.list', async () => {
    const model = await client.models.train();
    assert.equal(typeof model.version, 'number');
    const { models } = await client.models.list();
    assert.ok(models.some((m) => m.version === model.version));
  });

  test('recommend, similarItems, sessionRecommendations, basket, priceOptimized', async () => {
    const recs = await client.recommend({ user_id: 'known-1', limit: 3, placement: 'home' });
    assert.match(recs.recommendation_id, /^rec_/);
    assert.ok(Array.isArray(recs.all_item_ids));
    assert.equal(recs.meta.limit, 3);
    assert.equal(recs.success, undefined, 'the envelope flag is left out');
    assert.deepEqual(
      recs.recommendations.map((r) => r.item_id),
      recs.all_item_ids,
    );

    const similar = await client.similarItems('shoes/42', { limit: 2, mode: 'popular', include_attributes: true });
    assert.equal(similar.item_id, 'shoes/42');
    assert.equal(similar.mode, 'popular');
    const dots = await client.similarItems('...', { limit: 2 });
    assert.equal(dots.item_id, '...');

    const session = await client.sessionRecommendations({ clicked_item_id: 'mug-1', limit: 2 });
    assert.equal(session.item_id, 'mug-1');
    const basket = await client.basket({ item_ids: ['mug-1'], limit: 2 });
    assert.deepEqual(basket.basket_items, ['mug-1']);
    const priced = await client.priceOptimized({ user_id: 'known-1', limit: 2 });
    assert.equal(priced.user_id, 'known-1');
    assert.match(priced.recommendation_id, /^rec_/);
  });
});

describe('errors from real answers', () => {
  test('400 BadRequestError, with code and detail', async () => {
    const error = await client.recommend({ user_id: 'x', limit: 1000 }).catch((e) => e);
    assert.ok(error instanceof BadRequestError && error instanceof LehnzError);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'validation_error');
    assert.match(error.message, /limit/);
    assert.equal(typeof error.detail, 'string');
    assert.ok(error.headers.get('ratelimit-limit'));
    await assert.rejects(client.basket({ item_ids: [] }), BadRequestError);
  });

  test('401 AuthenticationError for an unknown key', async () => {
    const bad = new Lehnz({ baseUrl: server.url, publishableKey: 'lehnz_pk_' + 'x'.repeat(40) });
    const error = await bad.recommend({ user_id: 'x' }).catch((e) => e);
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.status, 401);
    assert.equal(error.code, 'invalid_api_key');
  });

  test('403 PermissionDeniedError for the wrong key type', async () => {
    // A publishable key where the secret one is wanted, through the SDK's own key slot.
    const swapped = new Lehnz({ baseUrl: server.url, secretKey: org.publishableKey, publishableKey: org.secretKey });
    const error = await swapped.items.get('mug-1').catch((e) => e);
    assert.ok(error instanceof PermissionDeniedError);
    assert.equal(error.code, 'wrong_key_type');
    await assert.rejects(swapped.recommend({ user_id: 'x' }), PermissionDeniedError);
  });

  test('a missing key throws before anything is sent', async () => {
    let sent = 0;
    const noKeys = new Lehnz({ baseUrl: server.url, fetch: () => ((sent += 1), Promise.reject(new Error('sent'))) });
    await assert.rejects(noKeys.recommend({ user_id: 'x' }), (e) => e instanceof LehnzError && e.code === 'missing_api_key');
    await assert.rejects(noKeys.items.get('x'), /secretKey/);
    await assert.rejects(noKeys.track({ user_id: 'x', event_name: 'view' }), /publishableKey/);
    assert.equal(sent, 0);
  });

  test('404 NotFoundError for an unknown item', async () => {
    const error = await client.items.get('no-such-item').catch((e) => e);
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.code, 'not_found');
    await assert.rejects(client.similarItems('no-such-item'), NotFoundError);
  });

  test('409 ConflictError from a duplicate registration', async () => {
    // The SDK does not register organisations; its transport reads the server's real 409.
    const viaRegister = new Lehnz({
      baseUrl: server.url,
      publishableKey: org.publishableKey,
      fetch: (_url, init) =>
        fetch(`${server.url}/api/v1/auth/register`, {
          method: 'POST',
          headers: { ...init.headers, 'Content-Type': 'application/json' },
          body: JSON.stringify(org.registration),
        }),
    });
    const error = await viaRegister.recommend({ user_id: 'x' }).catch((e) => e);
    assert.ok(error instanceof ConflictError);
    assert.equal(error.status, 409);
    assert.equal(error.code, 'conflict');
  });

  test('413 PayloadTooLargeError for a track body over 5 MB', async () => {
    const big = { user_id: 'big', event_name: 'view', context: { blob: 'x'.repeat(5_500_000) } };
    const error = await client.track(big).catch((e) => e);
    assert.ok(error instanceof PayloadTooLargeError, String(error));
    assert.equal(error.code, 'payload_too_large');
  });

  test('429 RateLimitError with retryAfter', async () => {
    const limited = await newOrganisation(server.url);
    await setRateLimit(server.url, limited.token, 5, 600);
    const sdk = new Lehnz({ baseUrl: server.url, publishableKey: limited.publishableKey });
    for (let i = 0; i < 5; i++) await sdk.recommend({ user_id: 'x', limit: 1 });
    const started = Date.now();
    const error = await sdk.recommend({ user_id: 'x', limit: 1 }).catch((e) => e);
    assert.ok(error instanceof RateLimitError, String(error));
    assert.equal(error.code, 'rate_limited');
    assert.ok(error.retryAfter > 500 && error.retryAfter <= 600, String(error.retryAfter));
    assert.equal(error.headers.get('ratelimit-remaining'), '0');
    assert.ok(Date.now() - started < 2000, 'a wait over maxRetryDelayMs is not waited for');
  });

  test('a real 429 is waited out and the call succeeds; a retried batch is stored once', async () => {
    const limited = await newOrganisation(server.url);
    await setRateLimit(server.url, limited.token, 2, 2);
    const calls = [];
    const sdk = new Lehnz({
      baseUrl: server.url,
      publishableKey: limited.publishableKey,
      secretKey: limited.secretKey,
      maxRetries: 3,
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        calls.push(res.status);
        return res;
      },
    });
    await sdk.recommend({ user_id: 'x', limit: 1 });
    await sdk.recommend({ user_id: 'x', limit: 1 });
    const started = Date.now();
    const result = await sdk.track([
      { user_id: 'rl-1', event_name: 'view', item_id: 'a' },
      { user_id: 'rl-1', event_name: 'view', item_id: 'b' },
    ]);
    assert.equal(result.accepted, 2);
    assert.deepEqual(calls.slice(0, 3), [200, 200, 429]);
    assert.equal(calls.at(-1), 202);
    assert.ok(Date.now() - started >= 500, 'waited for the window');
    await new Promise((r) => setTimeout(r, 2100)); // a fresh window for the check
    const page = await sdk.users.events('rl-1');
    assert.equal(page.events.length, 2);
  });

  test('APIConnectionError for a closed port', async () => {
    const port = await freePort();
    const sdk = new Lehnz({ baseUrl: `http://127.0.0.1:${port}`, publishableKey: org.publishableKey, maxRetries: 1 });
    const error = await sdk.recommend({ user_id: 'x' }).catch((e) => e);
    assert.ok(error instanceof APIConnectionError && error instanceof LehnzError, String(error));
    assert.equal(error.status, undefined);
    assert.match(error.message, /ECONNREFUSED|fetch failed/);
  });
});
