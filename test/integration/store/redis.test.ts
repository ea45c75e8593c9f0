/**
 * The fleet's connection to Redis (gateway/store/redis.ts) against a real redis-server that the test
 * kills and restarts: commands fail fast while it is away (never queue, never hang), and the connection
 * comes back by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../gateway/log.ts';
import { connectSharedStore, type SharedStore } from '../../../gateway/store/redis.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';

const log = createLogger({ level: 'fatal' as never });
const config = (url: string) => ({ url, keyPrefix: 'fd-test:', tls: undefined, timeoutMs: 250, connectTimeoutMs: 1_000 });

describe('shared store connection', () => {
  let server: TestRedis;
  let store: SharedStore;
  beforeAll(async () => {
    server = await startRedis();
    store = await connectSharedStore(config(server.url), log);
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('runs commands under the key prefix', async () => {
    expect(store.available()).toBe(true);
    await store.redis.set('k', 'v', 'PX', 10_000);
    expect(await store.redis.get('k')).toBe('v');
    const raw = await connectSharedStore({ ...config(server.url), keyPrefix: 'other:' }, log);
    try {
      expect(await raw.redis.get('k')).toBeNull();
    } finally {
      await raw.close();
    }
  });

  it('fails a command at once while Redis is down, and recovers on its own when it returns', async () => {
    await server.kill();
    await expect.poll(() => store.available(), { timeout: 2_000 }).toBe(false);
    const started = performance.now();
    await expect(store.redis.get('k')).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(300);

    await server.restart();
    await expect.poll(() => store.available(), { timeout: 5_000, interval: 50 }).toBe(true);
    await store.redis.set('k', 'back', 'PX', 10_000);
    expect(await store.redis.get('k')).toBe('back');
  });

  it('boots when Redis is unreachable, reporting it unavailable instead of failing', async () => {
    const started = performance.now();
    const down = await connectSharedStore({ ...config('redis://127.0.0.1:1'), connectTimeoutMs: 300 }, log);
    try {
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(down.available()).toBe(false);
      await expect(down.redis.get('k')).rejects.toThrow();
    } finally {
      await down.close();
    }
  });
});
