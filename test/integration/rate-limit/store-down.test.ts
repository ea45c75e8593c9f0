/**
 * Rate limits while Redis is away (docs/fleet.md "Rate limits"): with `storeUnavailable: closed` an
 * operation gets 503 AUTH_UNAVAILABLE, with `open` it is served, counted in
 * `frontdesk_rate_limit_store_unavailable_total` and logged — never a crash, never a hang: each answer
 * comes within `store.redis.timeout` and a margin, whether Redis is dead (connection refused) or hung
 * (SIGSTOP: connected, answering nothing). When Redis returns, budgets are enforced again.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { startStack, type HttpResult, type Stack } from '../../support/stack.ts';

const QUERY = { query: '{ product(upc: "p001") { upc } }' };
const TIMEOUT_MS = 200;
/** store.redis.timeout plus room for a loaded shared machine. */
const ANSWERED_WITHIN_MS = TIMEOUT_MS + 800;

let redis: TestRedis;
let idp: TestIssuer;
let closed: Stack;
let open: Stack;
beforeAll(async () => {
  [redis, idp] = await Promise.all([startRedis(), startTestIssuer()]);
  const stackFor = (storeUnavailable: 'open' | 'closed') =>
    startStack({
      auth: { anonymous: true, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: [idp.audience] }] },
      config: {
        store: { redis: { url: redis.url, keyPrefix: `down-${storeUnavailable}:`, timeout: `${TIMEOUT_MS}ms` } },
        metrics: { listen: { port: 0 } },
        rateLimit: { storeUnavailable, rules: [{ name: 'everyone', budget: 6, window: '1m' }], failedAuth: { perAddress: 1000 } },
      },
    });
  [closed, open] = await Promise.all([stackFor('closed'), stackFor('open')]);
});
afterAll(async () => {
  await Promise.all([closed?.close(), open?.close()]);
  await Promise.all([redis?.stop(), idp?.close()]);
});

const caller = async () => ({ token: await idp.sign({ sub: `u-${randomUUID()}` }) });

async function timed(stack: Stack, options: { token: string }): Promise<HttpResult & { ms: number }> {
  const started = performance.now();
  const result = await stack.query(QUERY, options);
  return { ...result, ms: performance.now() - started };
}

async function storeUnavailableCount(stack: Stack, decision: 'open' | 'closed'): Promise<number> {
  const text = await (await fetch(stack.gateway.metricsUrl as string)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`frontdesk_rate_limit_store_unavailable_total{check="operation",decision="${decision}"}`));
  return Number(line?.split(' ').at(-1) ?? 0);
}

describe.each([
  ['dead (connection refused)', () => redis.kill(), () => redis.restart()],
  ['hung (connected, answering nothing)', async () => redis.pause(), async () => redis.resume()],
] as const)('Redis %s', (_name, fault, heal) => {
  it('closed: 503 AUTH_UNAVAILABLE with Retry-After, within the timeout, no subgraph call; open: served, counted and logged; both recover', async () => {
    const [a, b] = [await caller(), await caller()];
    expect((await closed.query(QUERY, a)).status).toBe(200);
    expect((await open.query(QUERY, b)).status).toBe(200);
    const before = await storeUnavailableCount(open, 'open');
    await fault();

    closed.resetReceived();
    const refused = await Promise.all(Array.from({ length: 10 }, () => timed(closed, a)));
    for (const result of refused) {
      expect(result.status).toBe(503);
      expect(result.body.errors?.[0]).toMatchObject({ message: 'Authentication is temporarily unavailable', extensions: { code: 'AUTH_UNAVAILABLE' } });
      expect(result.headers.get('retry-after')).toBe('5');
      expect(result.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    }
    expect(closed.subgraphs.products.received).toEqual([]);

    // Open: more than the budget of 6 (3 operations of cost 2) goes through while nothing can be counted.
    const served = await Promise.all(Array.from({ length: 10 }, () => timed(open, b)));
    for (const result of served) {
      expect(result.status).toBe(200);
      expect(result.body.data).toEqual({ product: { upc: 'p001' } });
      expect(result.headers.get('ratelimit')).toBeNull();
      expect(result.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    }
    expect(await storeUnavailableCount(open, 'open')).toBe(before + 10);
    expect(open.logs.some((entry) => entry.level === 'warn' && entry.msg.startsWith('rate limit store unavailable: operations are let through unmetered'))).toBe(true);

    await heal();
    const fresh = await caller();
    await expect.poll(async () => (await closed.query(QUERY, fresh)).status, { timeout: 10_000, interval: 100 }).toBe(200);
    // Enforced again: the budget of 6 holds 3 operations of cost 2 (one was spent by the poll).
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await closed.query(QUERY, fresh)).status);
    expect(statuses).toEqual([200, 200, 429]);
    await expect.poll(async () => (await open.query(QUERY, fresh)).headers.get('ratelimit'), { timeout: 10_000, interval: 100 }).not.toBeNull();
  });
});
