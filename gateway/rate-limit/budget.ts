/**
 * One budget: cost units per key and fixed window, spent atomically. With the fleet's Redis
 * (`store.redis`, docs/fleet.md) it is rate-limiter-flexible's RateLimiterRedis: one Lua script per
 * spend (SET NX EX, INCRBY, PTTL — one round trip, no read-then-write race between instances); without
 * it, RateLimiterMemory in this process.
 *
 * A key whose budget is spent is remembered in this process until its window ends, so a caller over
 * budget costs no Redis round trip, and `blockedMs` can refuse it before any work (a Map lookup: it runs
 * on every request). Keys are hashed: no subject, address or key id is stored in Redis as written.
 */
import { hash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { SharedStore } from '../store/redis.ts';

export type Spend =
  | { readonly kind: 'allowed'; readonly remaining: number; readonly resetMs: number }
  | { readonly kind: 'limited'; readonly resetMs: number }
  /** The store could not answer (Redis down, or slower than `store.redis.timeout`). */
  | { readonly kind: 'unavailable'; readonly error: Error };

export interface Budget {
  readonly points: number;
  readonly windowSeconds: number;
  /** Spends `cost` (at most `points`) of `key`'s budget. Never throws; never waits past `store.redis.timeout`. */
  spend(key: string, cost: number): Promise<Spend>;
  /** > 0 while `key` is known in this process to be over budget: ms until its window ends. No I/O. */
  blockedMs(key: string): number;
}

export function createBudget(name: string, points: number, windowSeconds: number, shared: SharedStore | undefined): Budget {
  const keyPrefix = `rl:${name}`;
  const limiter: RateLimiterAbstract = shared
    ? new RateLimiterRedis({
        storeClient: shared.redis,
        keyPrefix,
        points,
        duration: windowSeconds,
        // Fail at once while disconnected rather than waiting for the command timeout.
        rejectIfRedisNotReady: true,
      })
    : new RateLimiterMemory({ keyPrefix, points, duration: windowSeconds });
  // Keys known to be over budget until their window ends, by key as given (not hashed: the check runs on
  // every request). Expired entries are swept whenever the map has doubled since the last sweep.
  const blocked = new Map<string, number>();
  let sweepAt = SWEEP_AT;
  const remember = (key: string, ms: number): void => {
    const now = Date.now();
    if (blocked.size >= sweepAt) {
      for (const [entry, until] of blocked) if (until <= now) blocked.delete(entry);
      sweepAt = Math.max(SWEEP_AT, 2 * blocked.size);
    }
    blocked.set(key, now + ms);
  };
  const blockedMs = (key: string): number => {
    if (blocked.size === 0) return 0;
    const until = blocked.get(key);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left <= 0) blocked.delete(key);
    return Math.max(0, left);
  };

  return {
    points,
    windowSeconds,
    async spend(key, cost) {
      const blockedFor = blockedMs(key);
      if (blockedFor > 0) return { kind: 'limited', resetMs: blockedFor };
      try {
        const res = await limiter.consume(hashKey(key), Math.max(1, Math.min(Math.ceil(cost), points)));
        if (res.remainingPoints === 0) remember(key, res.msBeforeNext);
        return { kind: 'allowed', remaining: res.remainingPoints, resetMs: res.msBeforeNext };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          remember(key, rejection.msBeforeNext);
          return { kind: 'limited', resetMs: rejection.msBeforeNext };
        }
        return { kind: 'unavailable', error: rejection instanceof Error ? rejection : new Error(String(rejection)) };
      }
    },
    blockedMs,
  };
}

const SWEEP_AT = 10_000;

/** 128 bits of SHA-256, base64url: bounded key length, and no identifier stored as written. */
function hashKey(key: string): string {
  return hash('sha256', key, 'base64url').slice(0, 22);
}
