/**
 * Sessions and sign-ins in progress in the fleet's Redis (`store.redis`, docs/fleet.md "Shared
 * sessions"), so any instance serves any user. Values are JSON under `<keyPrefix><namespace><digest>`
 * (the digest of the cookie, never the cookie: ./store.ts), expiring by themselves (`PX`); `take` is one
 * atomic GETDEL (Redis 6.2+), so a pending sign-in completes at most once across the fleet.
 *
 * While Redis is away every call fails at once (the connection's fail-fast options, gateway/store/redis.ts);
 * the session routes and the session credential answer 503 AUTH_UNAVAILABLE then, never "signed out" and
 * never anyone else's session. Bounded by Redis's own memory policy rather than by `sessions.maxSessions`.
 */
import type { SharedStore } from '../store/redis.ts';
import type { KeyValueStore } from './store.ts';

/** `namespace` keeps sessions and pending sign-ins apart: `session:`, `login:`. */
export function createRedisStore<V extends object>(shared: Pick<SharedStore, 'redis'>, namespace: string): KeyValueStore<V> {
  const { redis } = shared;
  const decode = (text: string | null): V | undefined => {
    if (text === null) return undefined;
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as V) : undefined;
  };
  return {
    async get(key) {
      return decode(await redis.get(namespace + key));
    },
    async set(key, value, ttlMs) {
      if (ttlMs <= 0) {
        await redis.del(namespace + key);
        return;
      }
      await redis.set(namespace + key, JSON.stringify(value), 'PX', Math.ceil(ttlMs));
    },
    async take(key) {
      return decode(await redis.getdel(namespace + key));
    },
    async delete(key) {
      await redis.del(namespace + key);
    },
  };
}
