/**
 * One refresh per session across the fleet (docs/fleet.md "Shared sessions"). Refresh tokens rotate: if
 * two instances refreshed one session at once, the provider would honour one and refuse the other, and the
 * session would end. With a shared session store the instance that refreshes holds a short lock in Redis
 * (`SET … NX PX`, released only by its holder); another instance that needs the same session meanwhile
 * waits for the refreshed record to appear in the store instead of refreshing too. Within one instance the
 * single flight of ./sessions.ts already shares one refresh between concurrent requests.
 */
import { randomBytes } from 'node:crypto';
import { AuthError } from '../errors.ts';
import type { SharedStore } from '../store/redis.ts';
import type { KeyValueStore, SessionRecord } from './store.ts';

export interface RefreshLock {
  /** The lock on this session for `ttlMs`, as a release function; undefined when another holder has it. */
  acquire(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
}

/** Deletes the lock only if it is still ours (it may have expired and been taken by another instance). */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export function createRedisRefreshLock(shared: Pick<SharedStore, 'redis'>): RefreshLock {
  return {
    async acquire(key, ttlMs) {
      const lockKey = `session-refresh:${key}`;
      const holder = randomBytes(16).toString('base64url');
      if ((await shared.redis.set(lockKey, holder, 'PX', Math.ceil(ttlMs), 'NX')) !== 'OK') return undefined;
      return async () => {
        await shared.redis.eval(RELEASE, 1, lockKey, holder);
      };
    },
  };
}

export interface LockedRefreshOptions {
  lock: RefreshLock;
  store: KeyValueStore<SessionRecord>;
  /** The refresh itself (it saves the new record, or deletes the session when refused). */
  refresh: (key: string, record: SessionRecord) => Promise<SessionRecord>;
  now: () => number;
  /** Longest a refresh may take (the provider's timeout, with room): the lock's lifetime and the wait's bound. */
  holdMs: number;
}

/** Refreshes `record` under the fleet's lock, or waits for the instance that holds it. */
export async function lockedRefresh(key: string, record: SessionRecord, options: LockedRefreshOptions): Promise<SessionRecord> {
  const { lock, store, refresh, now, holdMs } = options;
  const release = await lock.acquire(key, holdMs);
  if (release) {
    try {
      // Another instance may have refreshed between our read and the lock: its record is the current one.
      const current = await store.get(key);
      if (!current) throw AuthError.sessionEnded('session ended while its refresh was due');
      return current.refreshAt > now() ? current : await refresh(key, current);
    } finally {
      await release().catch(() => undefined); // it expires on its own
    }
  }
  const deadline = performance.now() + holdMs;
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const current = await store.get(key);
    if (!current) throw AuthError.sessionEnded('session ended by a refresh on another instance');
    if (current.refreshAt > now()) return current;
  }
  if (record.accessExpiresAt > now()) return record; // still valid: use it, the next request tries again
  throw AuthError.unavailable('session refresh in progress on another instance did not finish');
}
