/**
 * Replay protection across replicas (docs/subgraph-guide.md): two replicas of the shop's products
 * subgraph, each with the kit's createRedisReplayStore on one real Redis. A token one replica accepted is
 * refused by the other; a Redis full under `noeviction` answers 503 with Retry-After (never forgetting a
 * seen jti); a Redis that is away answers 503 and the replicas recover when it is back.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisReplayStore } from '@frontdesk/kit';
import { createIdentityMinter } from '../../../gateway/identity/mint.ts';
import { ANONYMOUS } from '../../../gateway/auth/principal.ts';
import { runSubgraph, type RunningSubgraph } from '../../../subgraphs/shop/example.ts';
import { createProductsSubgraph } from '../../../subgraphs/shop/products/index.ts';
import { waitUntil } from '../auth/support.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { startStack, type Stack } from '../../support/stack.ts';

const body = { query: '{ topProducts(first: 1) { upc } }', operationName: null, variables: {} };
let redis: TestRedis;
let stack: Stack;
let mint: ReturnType<typeof createIdentityMinter>;
const clients: Redis[] = [];
type Replica = RunningSubgraph & { refusals: string[] };
const replicas: Replica[] = [];

/** The client options docs/subgraph-guide.md recommends: fail fast, never re-send a SET NX. */
const client = (url: string) => new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500, retryStrategy: (attempt) => Math.min(attempt * 100, 1_000) });

async function post(replica: RunningSubgraph, token: string) {
  const response = await fetch(replica.url, { method: 'POST', headers: { 'content-type': 'application/json', 'frontdesk-identity': token }, body: JSON.stringify(body) });
  const json = (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), error: json.errors?.[0], data: json.data };
}
const fresh = () => mint(ANONYMOUS, 'products', body);

beforeAll(async () => {
  redis = await startRedis();
  stack = await startStack(); // its identity signing key and JWKS; its gateway is not used here
  mint = createIdentityMinter({ issuer: stack.identityIssuer, key: stack.signingKey, ttlMs: 60_000 });
  for (let i = 0; i < 2; i++) {
    const redisClient = client(redis.url);
    clients.push(redisClient);
    const refusals: string[] = [];
    const running = await runSubgraph(createProductsSubgraph(), {
      port: 0,
      identity: { jwks: stack.gateway.jwks, issuer: stack.identityIssuer, replay: createRedisReplayStore({ client: redisClient, keyPrefix: 'replay:products:' }) },
      log: (entry) => void (entry.msg === 'request refused' && refusals.push(String(entry.reason))),
    });
    replicas.push({ ...running, refusals });
  }
  await waitUntil(() => clients.every((connection) => connection.status === 'ready'), 5_000);
}, 30_000);
afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  clients.forEach((connection) => connection.disconnect());
  await stack?.close();
  await redis?.stop();
});

describe('the Redis replay store shared by two replicas', () => {
  it('a token replica 1 accepted is refused by replica 2 (and by replica 1) as a replay', async () => {
    const [one, two] = replicas as [Replica, Replica];
    const token = await fresh();
    expect(await post(one, token)).toMatchObject({ status: 200, data: { topProducts: [expect.any(Object)] } });
    const replayed = await post(two, token);
    // The kit's refusal: one answer for every identity failure, the reason only in its log.
    expect(replayed).toMatchObject({ status: 401, error: { message: 'Request did not come through the gateway', extensions: { code: 'UNAUTHENTICATED' } } });
    expect(two.refusals).toEqual([expect.stringMatching(/^identity token replayed \(jti [0-9a-f-]{36}\)$/)]);
    expect((await post(one, token)).status).toBe(401);
    // The entry lives as long as the token could verify (exp + the kit's 5 s tolerance), then Redis drops it.
    const ttl = await clients[0]!.pttl(`replay:products:${JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti}`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(66_000);
  });

  it('a Redis full under noeviction: new tokens get 503 AUTH_UNAVAILABLE with Retry-After, a seen one is still refused; room again, served again', async () => {
    const [one, two] = replicas as [Replica, Replica];
    const admin = clients[0]!;
    const seen = await fresh();
    expect((await post(one, seen)).status).toBe(200);
    // Fill it: with noeviction, Redis refuses every new key once used memory passes maxmemory.
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', String(Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]) + 256 * 1024));
    try {
      const filler = 'x'.repeat(4_096);
      for (let i = 0; ; i++) {
        const written = await admin.set(`filler:${i}`, filler).then(() => true, (error: Error) => (/^OOM/.test(error.message) ? false : Promise.reject(error)));
        if (!written) break;
      }
      // Keep it full: freed client buffers can bring it a few bytes under the line, so the line goes well below.
      await admin.config('SET', 'maxmemory', String(Math.floor(Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]) / 2)));
      for (const replica of [one, two]) {
        const full = await post(replica, await fresh());
        expect({ status: full.status, code: full.error?.extensions?.code, retryAfter: full.retryAfter }).toEqual({ status: 503, code: 'AUTH_UNAVAILABLE', retryAfter: '5' });
        expect(full.error?.message).toBe('Identity verification is temporarily unavailable');
        // Full, not failed: the OOM refusal is the store's { full: true } (the log says which).
        expect(replica.refusals.at(-1)).toBe('replay store full: refusing rather than forgetting an unexpired jti');
      }
      expect((await post(two, seen)).status).not.toBe(200);
      expect(await admin.exists(`replay:products:${JSON.parse(Buffer.from(seen.split('.')[1]!, 'base64url').toString()).jti}`)).toBe(1);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect((await post(two, await fresh())).status).toBe(200);
    expect((await post(one, seen)).status).toBe(401);
  });

  it('Redis away: 503 AUTH_UNAVAILABLE at once, no crash; served again when it is back', async () => {
    const [one] = replicas as [Replica];
    await redis.kill();
    await waitUntil(() => clients.every((connection) => connection.status !== 'ready'), 2_000);
    const started = performance.now();
    const down = await post(one, await fresh());
    expect({ status: down.status, code: down.error?.extensions?.code, retryAfter: down.retryAfter }).toEqual({ status: 503, code: 'AUTH_UNAVAILABLE', retryAfter: '5' });
    expect(performance.now() - started).toBeLessThan(500);
    await redis.restart();
    await waitUntil(async () => (await post(one, await fresh())).status === 200, 5_000, 50);
  }, 15_000);
});
