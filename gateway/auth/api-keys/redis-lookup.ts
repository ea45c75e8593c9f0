/**
 * API key records looked up in the fleet's Redis (`auth.apiKeys.store: redis`, docs/fleet.md "Shared API
 * keys"): one HGETALL per id at most, shared by concurrent requests for that id, and the answer (a record
 * or "none") reused for `cacheTtl`.
 *
 * Why a revoked key is refused everywhere within a second: every change is announced on a channel
 * (./redis-records.ts) and each instance drops that id from its cache when it hears it; the cache is used
 * only while this instance is subscribed (a lost subscription may have lost announcements, so the cache
 * is emptied and bypassed until it is back), and `cacheTtl` (1 s by default) bounds what a lost
 * announcement could leave behind. Unknown ids are cached like known ones, so whether an answer came from
 * the cache says nothing about whether the id exists.
 *
 * Redis unreachable or slow (past `store.redis.timeout`): 503 AUTH_UNAVAILABLE, never "unknown key".
 */
import { LRUCache } from 'lru-cache';
import { AuthError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { SharedStore } from '../../store/redis.ts';
import type { ApiKeyLookup } from './file-lookup.ts';
import { changeChannel, MalformedRecordError, readApiKeyRecord } from './redis-records.ts';
import type { ApiKeyRecord } from './store.ts';

export interface RedisLookupOptions {
  /** Longest reuse of an answer, in ms; 0 asks Redis every time. */
  cacheTtlMs: number;
  /** Most ids cached (LRU); 0 turns the cache off. */
  maxEntries: number;
  log: Logger;
}

export function redisApiKeyLookup(shared: SharedStore, options: RedisLookupOptions): ApiKeyLookup {
  const { log } = options;
  const cache = options.cacheTtlMs > 0 && options.maxEntries > 0 ? new LRUCache<string, { record: ApiKeyRecord | null }>({ max: options.maxEntries, ttl: options.cacheTtlMs }) : undefined;
  const inflight = new Map<string, Promise<ApiKeyRecord | undefined>>();
  // Bumped by every announcement and every loss of the subscription: an answer asked for before it is
  // not cached (the announcement may have overtaken it on the other connection).
  let epoch = 0;
  let subscribed = false;
  const channel = changeChannel(shared.keyPrefix);

  const forget = (id?: string) => {
    epoch++;
    if (id === undefined) {
      cache?.clear();
      inflight.clear();
    } else {
      cache?.delete(id);
      inflight.delete(id);
    }
  };
  const subscriber = cache ? shared.subscriber() : undefined;
  const onMessage = (from: string, id: string) => {
    if (from === channel) forget(id);
  };
  const onReady = () => {
    subscriber?.subscribe(channel).then(
      () => {
        forget();
        subscribed = true;
      },
      (error: unknown) => log.warn('API keys: cannot subscribe to changes; looking every key up in Redis until it can', { error }),
    );
  };
  const onLost = () => {
    subscribed = false;
    forget();
  };
  subscriber?.on('message', onMessage).on('ready', onReady).on('close', onLost);

  const ask = (id: string): Promise<ApiKeyRecord | undefined> => {
    const started = epoch;
    const pending = readApiKeyRecord(shared.redis, id).then(
      (record) => {
        if (subscribed && epoch === started) cache?.set(id, { record: record ?? null });
        return record;
      },
      (error: unknown) => {
        if (error instanceof MalformedRecordError) {
          log.error('API key record malformed in Redis: that key is refused with 503 until it is fixed', { id, error });
          throw AuthError.unavailable('API key record malformed', error);
        }
        throw AuthError.unavailable('API key store (Redis) unavailable', error);
      },
    );
    inflight.set(id, pending);
    void pending.then(
      () => inflight.get(id) === pending && inflight.delete(id),
      () => inflight.get(id) === pending && inflight.delete(id),
    );
    return pending;
  };

  return {
    async find(id) {
      if (id === undefined) return undefined;
      const hit = subscribed ? cache?.get(id) : undefined;
      if (hit) return hit.record ?? undefined;
      return inflight.get(id) ?? ask(id);
    },
    close() {
      subscriber?.off('message', onMessage).off('ready', onReady).off('close', onLost);
      onLost();
    },
  };
}
