/**
 * Without `store.redis` the same rules hold for one instance, in its memory (docs/fleet.md "Rate
 * limits"): the budget, the 429 and its fields, and the failed-authentication throttle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../support/stack.ts';

const PRODUCT = { query: '{ product(upc: "p001") { upc } }' };

describe('rate limits in memory (no store.redis)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ config: { rateLimit: { rules: [{ name: 'anonymous', match: { methods: 'anonymous' }, budget: 6, window: '30s' }], failedAuth: { perAddress: 2 } } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('allows exactly the budget, then 429 with Retry-After, RateLimit and RateLimit-Policy before any subgraph call', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await stack.query(PRODUCT)).status);
    expect(statuses).toEqual([200, 200, 200]);
    stack.resetReceived();
    const refused = await stack.query(PRODUCT);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(refused.headers.get('ratelimit')).toBe(`"anonymous";r=0;t=${retryAfter}`);
    expect(refused.headers.get('ratelimit-policy')).toBe('"anonymous";q=6;w=30');
    expect(stack.subgraphs.products.received).toEqual([]);
    // The anonymous caller's key is the connection's address, never a header it sends.
    for (const header of ['x-forwarded-for', 'x-real-ip', 'forwarded']) {
      expect((await stack.query(PRODUCT, { headers: { [header]: header === 'forwarded' ? 'for=198.51.100.7' : '198.51.100.7' } })).status).toBe(429);
    }
  });

  it('throttles failed authentications per address', async () => {
    expect((await stack.query(PRODUCT, { token: 'not-a-jwt' })).status).toBe(401);
    expect((await stack.query(PRODUCT, { token: 'not-a-jwt' })).status).toBe(401);
    const throttled = await stack.query(PRODUCT, { token: 'not-a-jwt' });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('ratelimit-policy')).toBe('"failed-auth-address";q=2;w=60');
  });
});
