// The time the SDK adds to a call, beside a raw fetch: 1,000 `recommend` calls each against a
// real `lehnz serve`, interleaved, plus the SDK alone over an in-process fetch that answers
// at once. Run: npm run build && node bench/overhead.mjs [calls]
import { performance } from 'node:perf_hooks';

import { Lehnz } from '../dist/esm/index.js';
import { newOrganisation, setRateLimit, startServer } from '../test/support/server.mjs';

const CALLS = Number(process.argv[2] ?? 1000);
const WARMUP = 50;

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p99: at(0.99) };
}
const ms = (x) => `${x.toFixed(3)} ms`;
const us = (x) => `${(x * 1000).toFixed(1)} µs`;

const server = await startServer();
try {
  const org = await newOrganisation(server.url);
  await setRateLimit(server.url, org.token, 1_000_000, 900);
  const sdk = new Lehnz({ baseUrl: server.url, publishableKey: org.publishableKey });
  const body = { user_id: 'bench-user', limit: 10 };
  const raw = async () => {
    const res = await fetch(`${server.url}/recommend`, {
      method: 'POST',
      headers: { 'X-API-KEY': org.publishableKey, 'X-Domain': 'commerce', 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(String(res.status));
    return res.json();
  };
  const viaSdk = () => sdk.recommend(body);

  for (let i = 0; i < WARMUP; i++) await raw(), await viaSdk();
  const rawTimes = [];
  const sdkTimes = [];
  for (let i = 0; i < CALLS; i++) {
    // Interleaved, alternating which goes first, so that drift hits both alike.
    for (const [fn, out] of i % 2 ? [[raw, rawTimes], [viaSdk, sdkTimes]] : [[viaSdk, sdkTimes], [raw, rawTimes]]) {
      const t = performance.now();
      await fn();
      out.push(performance.now() - t);
    }
  }
  const r = stats(rawTimes);
  const s = stats(sdkTimes);
  console.log(`real server, ${CALLS} recommend calls each`);
  console.log(`  raw fetch  median ${ms(r.median)}  p99 ${ms(r.p99)}`);
  console.log(`  SDK        median ${ms(s.median)}  p99 ${ms(s.p99)}`);
  console.log(`  overhead   median ${ms(s.median - r.median)}  p99 ${ms(s.p99 - r.p99)}`);

  // The SDK alone: a fetch that answers at once with a recorded answer.
  const answer = JSON.stringify(await raw());
  const instant = async () => new Response(answer, { status: 200, headers: { 'content-type': 'application/json' } });
  const local = new Lehnz({ baseUrl: server.url, publishableKey: org.publishableKey, fetch: instant });
  const rawLocal = async () => (await instant(`${server.url}/recommend`, { method: 'POST', body: JSON.stringify(body) })).json();
  const a = [];
  const b = [];
  for (let i = 0; i < WARMUP * 20; i++) await rawLocal(), await local.recommend(body);
  for (let i = 0; i < CALLS; i++) {
    let t = performance.now();
    await rawLocal();
    a.push(performance.now() - t);
    t = performance.now();
    await local.recommend(body);
    b.push(performance.now() - t);
  }
  const la = stats(a);
  const lb = stats(b);
  console.log(`in-process fetch (no network), ${CALLS} calls each`);
  console.log(`  raw        median ${us(la.median)}  p99 ${us(la.p99)}`);
  console.log(`  SDK        median ${us(lb.median)}  p99 ${us(lb.p99)}`);
  console.log(`  overhead   median ${us(lb.median - la.median)}  p99 ${us(lb.p99 - la.p99)}`);
} finally {
  await server.stop();
}
