/**
 * The Redis lookup of API key records (gateway/auth/api-keys/redis-lookup.ts) against a scripted Redis:
 * when it may answer from its cache, and every way a cached answer is dropped — an announcement, one that
 * overtakes the reply it concerns, a lost subscription — and that a Redis fault is a 503, never "unknown".
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { redisApiKeyLookup } from '../../../gateway/auth/api-keys/redis-lookup.ts';
import { encodeRecord } from '../../../gateway/auth/api-keys/redis-records.ts';
import type { ApiKeyRecord } from '../../../gateway/auth/api-keys/store.ts';
import { createLogger } from '../../../gateway/log.ts';
import type { SharedStore } from '../../../gateway/store/redis.ts';

const ID = '0123456789abcdef';
const RECORD: ApiKeyRecord = { id: ID, name: 'n', owner: 'o', scopes: [], roles: [], createdAt: '2026-01-01T00:00:00.000Z', revoked: false, secrets: [{ sha256: 'a'.repeat(64) }] };
const CHANNEL = 'fd:apikeys:changed';
const tick = () => new Promise((resolve) => setImmediate(resolve));

function scripted() {
  const asked: string[] = [];
  let answer: (key: string) => Promise<Record<string, string>> = async (key) => (key === `apikey:${ID}` ? encodeRecord(RECORD) : {});
  const subscriber = Object.assign(new EventEmitter(), { subscribe: async () => 1 });
  const shared = {
    keyPrefix: 'fd:',
    redis: { hgetall: (key: string) => (asked.push(key), answer(key)) },
    subscriber: () => subscriber,
  } as unknown as SharedStore;
  const lookup = redisApiKeyLookup(shared, { cacheTtlMs: 60_000, maxEntries: 100, log: createLogger({ level: 'silent' }) });
  return {
    lookup,
    asked,
    subscriber,
    answerWith: (next: typeof answer) => (answer = next),
    async subscribed() {
      subscriber.emit('ready');
      await tick();
    },
  };
}

describe('the Redis API key lookup', () => {
  it('asks Redis every time until it is subscribed to changes; then known and unknown ids alike come from the cache', async () => {
    const redis = scripted();
    await redis.lookup.find(ID);
    await redis.lookup.find(ID);
    expect(redis.asked).toHaveLength(2);
    await redis.subscribed();
    expect(await redis.lookup.find(ID)).toEqual(RECORD);
    expect(await redis.lookup.find('ffffffffffffffff')).toBeUndefined();
    expect(await redis.lookup.find(ID)).toEqual(RECORD);
    expect(await redis.lookup.find('ffffffffffffffff')).toBeUndefined();
    expect(redis.asked).toHaveLength(4);
    expect(await redis.lookup.find(undefined)).toBeUndefined();
    expect(redis.asked).toHaveLength(4);
  });

  it('concurrent requests for one id share one HGETALL', async () => {
    const redis = scripted();
    await redis.subscribed();
    await Promise.all([1, 2, 3].map(() => redis.lookup.find(ID)));
    expect(redis.asked).toEqual([`apikey:${ID}`]);
  });

  it('an announcement drops that id, even one that overtakes the reply it concerns', async () => {
    const redis = scripted();
    await redis.subscribed();
    await redis.lookup.find(ID);
    redis.subscriber.emit('message', CHANNEL, ID);
    await redis.lookup.find(ID);
    expect(redis.asked).toHaveLength(2);

    redis.subscriber.emit('message', CHANNEL, ID);
    let reply!: () => void;
    redis.answerWith(() => new Promise((resolve) => (reply = () => resolve(encodeRecord(RECORD)))));
    const pending = redis.lookup.find(ID);
    redis.subscriber.emit('message', CHANNEL, ID); // the change was announced before this (stale) reply arrived
    reply();
    await pending;
    redis.answerWith(async () => encodeRecord(RECORD));
    await redis.lookup.find(ID);
    expect(redis.asked).toHaveLength(4); // the stale reply was not cached
    redis.subscriber.emit('message', 'another:channel', ID);
    await redis.lookup.find(ID);
    expect(redis.asked).toHaveLength(4);
  });

  it('a lost subscription empties the cache and bypasses it until subscribed again', async () => {
    const redis = scripted();
    await redis.subscribed();
    await redis.lookup.find(ID);
    redis.subscriber.emit('close');
    await redis.lookup.find(ID);
    await redis.lookup.find(ID);
    expect(redis.asked).toHaveLength(3);
    await redis.subscribed();
    await redis.lookup.find(ID);
    await redis.lookup.find(ID);
    expect(redis.asked).toHaveLength(4);
  });

  it('Redis failing, or a record that fails the checks: 503 AUTH_UNAVAILABLE, never "unknown"; nothing cached', async () => {
    const redis = scripted();
    await redis.subscribed();
    redis.answerWith(() => Promise.reject(new Error('Connection is closed.')));
    await expect(redis.lookup.find(ID)).rejects.toMatchObject({ code: 'AUTH_UNAVAILABLE' });
    redis.answerWith(async () => ({ ...encodeRecord(RECORD), secrets: '[{"sha256":"short"}]' }));
    await expect(redis.lookup.find(ID)).rejects.toMatchObject({ code: 'AUTH_UNAVAILABLE', reason: 'API key record malformed' });
    redis.answerWith(async () => ({ ...encodeRecord(RECORD), scopes: 'not json' }));
    await expect(redis.lookup.find(ID)).rejects.toMatchObject({ code: 'AUTH_UNAVAILABLE', reason: 'API key record malformed' });
    redis.answerWith(async () => ({ ...encodeRecord(RECORD), id: 'fedcba9876543210' }));
    await expect(redis.lookup.find(ID)).rejects.toMatchObject({ code: 'AUTH_UNAVAILABLE', reason: 'API key record malformed' });
  });
});
