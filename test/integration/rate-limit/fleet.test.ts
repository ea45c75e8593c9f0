/**
 * Rate limits shared by a fleet (docs/fleet.md "Rate limits"): two gateways on one real redis-server,
 * real HTTP, the example shop behind them. Budgets count operation cost; the N+1th unit is refused 429
 * before any subgraph call, with Retry-After, RateLimit and RateLimit-Policy
 * (draft-ietf-httpapi-ratelimit-headers).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { startStack, type HttpResult, type Peer, type Stack } from '../../support/stack.ts';

/** Costs 2: the field and its one selection (docs/fleet.md "Rate limits"). */
const PRODUCT = { query: '{ product(upc: "p001") { upc } }' };
const aliases = (count: number) => ({ query: `{ ${Array.from({ length: count }, (_, i) => `a${i}: __typename`).join(' ')} }` });

let redis: TestRedis;
let idp: TestIssuer;
beforeAll(async () => {
  [redis, idp] = await Promise.all([startRedis(), startTestIssuer()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), idp?.close()]);
});

/** A caller of its own: each test spends a budget nobody else touched. */
const newCaller = async () => ({ token: await idp.sign({ sub: `user-${randomUUID()}` }) });
const tooMany = { message: 'Too many requests', code: 'RATE_LIMITED' };
/** The `RateLimit` field with its reset (`t`, whole seconds, which the clock moves) checked and written as `t`. */
const limit = (result: { headers: Headers }) => {
  const field = result.headers.get('ratelimit') ?? '';
  const reset = Number(/;t=(\d+)$/.exec(field)?.[1]);
  return reset >= 1 && reset <= 60 ? field.replace(/;t=\d+$/, ';t') : `${field} (reset out of 1-60)`;
};
const errorOf = (result: HttpResult) => ({ message: result.body.errors?.[0]?.message, code: result.body.errors?.[0]?.extensions?.code });

describe('a budget shared by two gateways on one Redis', () => {
  let stack: Stack;
  let peer: Peer;
  beforeAll(async () => {
    stack = await startStack({
      auth: { anonymous: true, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: [idp.audience] }] },
      config: {
        store: { redis: { url: redis.url, keyPrefix: 'fleet-test:' } },
        limits: { aliases: 200, batchedOperations: 5 },
        rateLimit: {
          rules: [
            { name: 'users', match: { methods: ['jwt'] }, budget: 12, window: '1m' },
            { name: 'anonymous', budget: 1000, window: '1m' },
          ],
        },
      },
    });
    peer = await stack.startPeer();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('allows exactly N cost units across both instances; the next is refused 429 with Retry-After, RateLimit and RateLimit-Policy, before any subgraph call', async () => {
    const caller = await newCaller();
    const answers: HttpResult[] = [];
    for (let i = 0; i < 6; i++) answers.push(await (i % 2 === 0 ? stack : peer).query(PRODUCT, caller));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers.map(limit)).toEqual([10, 8, 6, 4, 2, 0].map((r) => `"users";r=${r};t`));
    expect(answers[0]?.headers.get('ratelimit-policy')).toBe('"users";q=12;w=60');

    stack.resetReceived();
    for (const gateway of [stack, peer, stack]) {
      const refused = await gateway.query(PRODUCT, caller);
      expect(refused.status).toBe(429);
      expect(errorOf(refused)).toEqual(tooMany);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get('ratelimit')).toBe(`"users";r=0;t=${retryAfter}`);
      expect(refused.headers.get('ratelimit-policy')).toBe('"users";q=12;w=60');
    }
    expect(stack.subgraphs.products.received).toEqual([]);
    // Another caller's budget is untouched; an anonymous caller gets the next rule.
    expect(limit(await peer.query(PRODUCT, await newCaller()))).toBe('"users";r=10;t');
    expect((await peer.query(PRODUCT)).headers.get('ratelimit-policy')).toBe('"anonymous";q=1000;w=60');
  });

  it('charges 100 aliases as 100 fields, not as one request', async () => {
    const wide = await stack.query(aliases(100), await newCaller());
    expect(wide.status).toBe(200);
    // The budget is 12: 100 fields spend all of it (one operation is charged at most the budget).
    expect(limit(wide)).toBe('"users";r=0;t');

    const caller = await newCaller();
    const ten = await stack.query(aliases(10), caller);
    expect(limit(ten)).toBe('"users";r=2;t');
    const three = await peer.query(aliases(3), caller);
    expect(three.status).toBe(429);
    expect(errorOf(three)).toEqual(tooMany);
  });

  it('charges each operation of a batch', async () => {
    const caller = await newCaller();
    const response = await fetch(stack.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${caller.token}` }, body: JSON.stringify([PRODUCT, PRODUCT, PRODUCT]) });
    expect(response.status).toBe(200);
    expect(limit(response)).toBe('"users";r=6;t');
    expect(limit(await peer.query(PRODUCT, caller))).toBe('"users";r=4;t');
  });

  it('refuses a batch whose operations together exceed the budget, operation by operation', async () => {
    const caller = await newCaller();
    const response = await fetch(peer.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${caller.token}` }, body: JSON.stringify(Array(5).fill(aliases(4))) });
    const bodies = (await response.json()) as Array<{ errors?: Array<{ extensions: { code: string } }> }>;
    // 5 operations of cost 4 against a budget of 12: three are served, two refused.
    expect(response.status).toBe(429);
    expect(bodies.filter((body) => body.errors?.[0]?.extensions.code === 'RATE_LIMITED')).toHaveLength(2);
    expect(response.headers.get('ratelimit')).toMatch(/^"users";r=0;t=\d+$/);
  });
});
