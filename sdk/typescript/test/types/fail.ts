// Must NOT compile: each line marked `// error` has to be refused by tsc, and no other line.
import { Lehnz } from 'lehnz';

const client = new Lehnz({ publishableKey: 'lehnz_pk_x' });

async function main(): Promise<void> {
  await client.recommend({ user_id: 'u', limit: 'x' }); // error: limit is a number
  await client.recommend({ user_id: 'u', colour: 'red' }); // error: unknown field
  await client.recommend({ limit: 5 }); // error: user_id is required
  await client.similarItems('a', { mode: 'random' }); // error: not a mode
  await client.basket({ item_ids: 'a' }); // error: item_ids is an array
  await client.track({ user_id: 'u' }); // error: event_name is required
  await client.identify({ user_id: 'u' }); // error: previous_user_id is required
  await client.items.upsert({ item_id: 'a', status: 'gone' }); // error: not a status
  const recs = await client.recommend({ user_id: 'u' });
  recs.allItemIds; // error: the API's own (snake_case) names only
  new Lehnz({ domain: 'fashion' }); // error: the domain is commerce
}
void main;
