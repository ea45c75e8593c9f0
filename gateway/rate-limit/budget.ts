/**
 * One budget: cost units per key and fixed window, spent atomically. With the fleet's Redis
 * (`store.redis`, docs/fleet.md) it is rate-limiter-flexible's RateLimiterRedis: one Lua script per
 * spend (SET NX EX, INCRBY, PTTL — one round trip, no read-then-write race between instances); without
 * it, RateLimiterMemory in this process.
 *
 * A key whose budget is spent is remembered in this process until its window ends (the limiter's
 * in-memory block), so a caller over budget costs no Redis round trip, and `blockedMs` can refuse it
 * before any work. Keys are hashed: no subject, address or key id is stored in Redis as written.
 */
import { createHash } from 'node:crypto';
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
        inMemoryBlockOnConsumed: points,
      })
    : new RateLimiterMemory({ keyPrefix, points, duration: windowSeconds });
  const local = shared ? undefined : new Map<string, number>();
  // Untyped but public in rate-limiter-flexible 11 (RateLimiterStoreAbstract): the in-memory block's time left.
  const redisLimiter = shared ? (limiter as unknown as InMemoryBlock) : undefined;

  return {
    points,
    windowSeconds,
    async spend(key, cost) {
      const hashed = hashKey(key);
      try {
        const res = await limiter.consume(hashed, Math.max(1, Math.min(Math.ceil(cost), points)));
        // The memory limiter has no in-memory block of its own: remember a spent budget the same way.
        if (local && res.remainingPoints === 0) remember(local, hashed, res.msBeforeNext);
        return { kind: 'allowed', remaining: res.remainingPoints, resetMs: res.msBeforeNext };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          if (local) remember(local, hashed, rejection.msBeforeNext);
          return { kind: 'limited', resetMs: rejection.msBeforeNext };
        }
        return { kind: 'unavailable', error: rejection instanceof Error ? rejection : new Error(String(rejection)) };
      }
    },
    blockedMs(key) {
      const hashed = hashKey(key);
      if (redisLimiter) return redisLimiter.getInMemoryBlockMsBeforeExpire(redisLimiter.getKey(hashed));
      const until = local?.get(hashed);
      if (until === undefined) return 0;
      const left = until - Date.now();
      if (left <= 0) local?.delete(hashed);
      return Math.max(0, left);
    },
  };
}

interface InMemoryBlock {
  getKey(key: string): string;
  getInMemoryBlockMsBeforeExpire(rlKey: string): number;
}

/** Keys over budget until their window ends; expired ones are swept once the map grows. */
function remember(blocked: Map<string, number>, key: string, ms: number): void {
  const now = Date.now();
  if (blocked.size >= SWEEP_AT) for (const [entry, until] of blocked) if (until <= now) blocked.delete(entry);
  blocked.set(key, now + ms);
}
const SWEEP_AT = 10_000;

/** 128 bits of SHA-256, base64url: bounded key length, and no identifier stored as written. */
function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 22);
}
