/**
 * The kit's Redis replay store (subgraphs/kit/redis-replay.ts) against scripted clients: what it sends,
 * and how each answer becomes a verdict — OOM is "full", anything unexpected or late fails closed. The
 * real Redis is in test/integration/store/replay.test.ts.
 */
import type { Redis } from 'ioredis';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createRedisReplayStore, type RedisReplayClient } from '@frontdesk/kit';
import { rememberTokenId } from '../../../subgraphs/kit/replay.ts';

const until = new Date(1_900_000_000_000);
const answering = (answer: () => Promise<unknown>) => {
  const sent: unknown[][] = [];
  const client: RedisReplayClient = { set: (...args) => (sent.push(args), answer()) };
  return { client, sent };
};

describe('createRedisReplayStore', () => {
  it('sends one SET <prefix><jti> 1 PXAT <ms> NX; OK is new, nil is a replay', async () => {
    const { client, sent } = answering(async () => 'OK');
    expect(await createRedisReplayStore({ client, keyPrefix: 'replay:products:' }).remember('j-1', until)).toBe(true);
    expect(sent).toEqual([['replay:products:j-1', '1', 'PXAT', 1_900_000_000_000, 'NX']]);
    expect(await createRedisReplayStore({ client: answering(async () => null).client }).remember('j-1', until)).toBe(false);
    const { client: plain, sent: plainSent } = answering(async () => 'OK');
    await createRedisReplayStore({ client: plain }).remember('j-2', until);
    expect(plainSent[0]?.[0]).toBe('frontdesk:replay:j-2');
  });

  it("Redis's OOM refusal (maxmemory with noeviction) is { full: true }: 503 with Retry-After, never a forgotten jti", async () => {
    const oom = Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), { name: 'ReplyError' });
    const store = createRedisReplayStore({ client: answering(() => Promise.reject(oom)).client });
    expect(await store.remember('j', until)).toEqual({ full: true });
    await expect(rememberTokenId(store, 'j', until)).rejects.toMatchObject({ code: 'AUTH_UNAVAILABLE', retryAfterSeconds: 5 });
  });

  it('any other error, an unexpected answer or no answer within timeoutMs: thrown, so the request is refused with 503', async () => {
    const cases = [
      () => Promise.reject(new Error('Connection is closed.')),
      () => Promise.reject(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')),
      async () => 'QUEUED',
      async () => undefined,
      async () => 1,
      () => new Promise(() => {}),
    ];
    for (const answer of cases) {
      const store = createRedisReplayStore({ client: answering(answer).client, timeoutMs: 50 });
      await expect(store.remember('j', until)).rejects.toThrow();
      await expect(rememberTokenId(store, 'j', until)).rejects.toMatchObject({ code: 'AUTH_UNAVAILABLE' });
    }
  });

  it('refuses a client without set() and a timeout that is not positive', () => {
    expect(() => createRedisReplayStore({ client: {} as RedisReplayClient })).toThrow(TypeError);
    expect(() => createRedisReplayStore({ client: answering(async () => 'OK').client, timeoutMs: 0 })).toThrow(TypeError);
  });

  it('an ioredis client is a RedisReplayClient as it is (no adapter, no dependency of the kit)', () => {
    expectTypeOf<Redis>().toMatchTypeOf<RedisReplayClient>();
  });
});
