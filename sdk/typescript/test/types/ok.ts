// Must compile: the SDK as a developer uses it, through the package's own exports.
import {
  Lehnz,
  LehnzError,
  RateLimitError,
  type Recommendations,
  type SimilarItems,
  type StoredEvent,
  type TrackEvent,
} from 'lehnz';

const client = new Lehnz({ publishableKey: 'lehnz_pk_x', secretKey: 'lehnz_sk_x', baseUrl: 'http://localhost:8000' });

async function main(): Promise<void> {
  const recs: Recommendations = await client.recommend({ user_id: 'u', limit: 5, placement: 'home', filters: { price: { lt: 50 } } });
  const ids: string[] = recs.all_item_ids;
  const first: number | undefined = recs.recommendations[0]?.score;
  const pages: number = recs.meta.total_pages;
  const similar: SimilarItems = await client.similarItems('shoes/42', { limit: 4, mode: 'semantic' });
  const mode: 'auto' | 'semantic' | 'collaborative' | 'popular' = similar.mode;
  await client.sessionRecommendations({ clicked_item_id: 'a', limit: 3 });
  const basket = await client.basket({ item_ids: ['a', 'b'] });
  const basketItems: string[] = basket.basket_items;
  await client.priceOptimized({ user_id: 'u', mode: 'auto' });

  const event: TrackEvent = { user_id: 'u', event_name: 'view', item_id: 'a', context: { q: 'mugs' } };
  const { accepted } = await client.track([event, { user_id: 'u', event_name: 'purchase', timestamp: 1772366400 }]);
  await client.identify({ user_id: 'u', previous_user_id: 'anon' });
  const queue = client.queue({ flushAt: 50, flushIntervalMs: 1000 });
  queue.track(event);
  await queue.close();

  const up = await client.items.upsert([{ item_id: 'a', status: 'active', attributes: { price: 1 } }]);
  const created: number = up.created;
  const item = await client.items.get('a');
  const status: string = item.status;
  await client.items.delete('a');
  await client.users.upsert({ user_id: 'u', attributes: { tier: 'gold' } });
  await client.users.get('u');
  const page = await client.users.events('u', { limit: 10 });
  const events: StoredEvent[] = page.events;
  const next: string | null = page.next;
  await client.users.delete('u');
  const report = await client.uploads.items(new Blob(['item_id\na\n']), { filename: 'items.csv', strict: true });
  const rejected: number = report.rejected;
  await client.uploads.users('user_id\nu\n');
  await client.uploads.events(new Uint8Array([1]), { filename: 'e.ndjson' });
  const model = await client.models.train({ timeoutMs: 60_000 });
  const version: number = model.version;
  const { models } = await client.models.list();

  try {
    await client.recommend({ user_id: 'u' });
  } catch (error) {
    if (error instanceof RateLimitError) {
      const wait: number | undefined = error.retryAfter;
      void wait;
    } else if (error instanceof LehnzError) {
      const code: string | undefined = error.code;
      const status: number | undefined = error.status;
      void code, status;
    }
  }
  void ids, first, pages, mode, basketItems, accepted, created, status, events, next, rejected, version, models;
}
void main;
