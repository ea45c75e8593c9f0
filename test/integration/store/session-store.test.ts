/**
 * Sessions and pending sign-ins in Redis (gateway/session/redis-store.ts, docs/fleet.md "Shared
 * sessions") against a real redis-server: JSON values under their namespace, expiry by PX, `take` atomic
 * across connections (one winner however many instances race), and a fast failure while Redis is away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../gateway/log.ts';
import { createRedisStore } from '../../../gateway/session/redis-store.ts';
import { connectSharedStore, type SharedStore } from '../../../gateway/store/redis.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';

const log = createLogger({ level: 'fatal' as never });
const config = (url: string) => ({ url, keyPrefix: 'fd-sessions:', tls: undefined, timeoutMs: 250, connectTimeoutMs: 1_000 });

describe('the Redis session store', () => {
  let server: TestRedis;
  const stores: SharedStore[] = [];
  beforeAll(async () => {
    server = await startRedis();
    for (let i = 0; i < 4; i++) stores.push(await connectSharedStore(config(server.url), log));
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await server?.stop();
  });

  it('keeps JSON values under the namespace, replaced by set, removed by delete', async () => {
    const store = createRedisStore<{ subject: string }>(stores[0]!, 'session:');
    await store.set('k1', { subject: 'u2' }, 10_000);
    expect(await createRedisStore(stores[1]!, 'session:').get('k1')).toEqual({ subject: 'u2' });
    expect(await createRedisStore(stores[1]!, 'login:').get('k1')).toBeUndefined();
    expect(await stores[0]!.redis.pttl('session:k1')).toBeGreaterThan(9_000);
    await store.set('k1', { subject: 'u3' }, 10_000);
    expect(await store.get('k1')).toEqual({ subject: 'u3' });
    await store.delete('k1');
    expect(await store.get('k1')).toBeUndefined();
  });

  it('expires a value after its TTL, and a TTL of 0 deletes', async () => {
    const store = createRedisStore<{ n: number }>(stores[0]!, 'session:');
    await store.set('short', { n: 1 }, 50);
    await store.set('gone', { n: 2 }, 10_000);
    await store.set('gone', { n: 2 }, 0);
    expect(await store.get('gone')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await store.get('short')).toBeUndefined();
  });

  it('take is atomic: of many instances racing for one pending sign-in, exactly one gets it', async () => {
    for (let round = 0; round < 20; round++) {
      await createRedisStore<{ state: string }>(stores[0]!, 'login:').set(`race${round}`, { state: `s${round}` }, 10_000);
      const taken = await Promise.all(stores.flatMap((store) => [0, 1, 2].map(() => createRedisStore<{ state: string }>(store, 'login:').take(`race${round}`))));
      expect(taken.filter((value) => value !== undefined)).toEqual([{ state: `s${round}` }]);
    }
  });

  it('fails at once while Redis is away (the session routes answer 503), and works again when it is back', async () => {
    const store = createRedisStore<{ n: number }>(stores[0]!, 'session:');
    await server.kill();
    await expect.poll(() => stores[0]!.available(), { timeout: 2_000 }).toBe(false);
    const started = performance.now();
    await expect(store.get('any')).rejects.toThrow();
    await expect(store.take('any')).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(500);
    await server.restart();
    await expect.poll(() => stores[0]!.available(), { timeout: 5_000, interval: 50 }).toBe(true);
    await store.set('back', { n: 3 }, 10_000);
    expect(await store.get('back')).toEqual({ n: 3 });
  });
});
