/**
 * A replay store in Redis, so the replicas of one subgraph refuse a `jti` that any of them has seen
 * (docs/subgraph-guide.md, "Replay protection across replicas"). One command per token:
 * `SET <prefix><jti> 1 PXAT <acceptedUntil ms> NX` — 'OK' records it (new), nil means it is there (a
 * replay), and Redis drops it on its own once the token can no longer verify.
 *
 * The ReplayStore contract (./replay.ts) holds only with `maxmemory-policy noeviction`: Redis must never
 * evict an unexpired `jti` to make room. When full, such a Redis refuses the write with an `OOM` error,
 * which this store answers `{ full: true }` (503 with Retry-After); any other error or answer, or no answer
 * within `timeoutMs`, refuses the request with 503 too (fail closed).
 *
 * The kit depends on no Redis client: `client` is anything with ioredis's `set` spelling (an ioredis
 * client is one as it is; node-redis v4+ takes a one-line adapter, shown in the guide).
 */
import type { ReplayStore } from './replay.ts';

/** The one command the store sends, spelt as ioredis spells it. Resolves 'OK' when set, null when the key exists. */
export interface RedisReplayClient {
  set(key: string, value: string, expiryMode: 'PXAT', unixTimeMilliseconds: number, condition: 'NX'): Promise<unknown>;
}

export interface RedisReplayStoreOptions {
  client: RedisReplayClient;
  /** Prefix of every key (after the client's own `keyPrefix`, if any). Default is 'frontdesk:replay:'. */
  keyPrefix?: string;
  /** Longest wait for Redis's answer, in ms; past it the request is refused with 503. Default is 1000 (1 second). */
  timeoutMs?: number;
}

/** Redis's answer to a write that `maxmemory` and `noeviction` refuse ("OOM command not allowed when used memory > 'maxmemory'"). */
const OUT_OF_MEMORY = /^OOM\b/;

export function createRedisReplayStore(options: RedisReplayStoreOptions): ReplayStore {
  const { client } = options;
  if (typeof client?.set !== 'function') throw new TypeError('"client" must be a Redis client with set() (ioredis, or an adapter: docs/subgraph-guide.md)');
  const keyPrefix = options.keyPrefix ?? 'frontdesk:replay:';
  const timeoutMs = options.timeoutMs ?? 1_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('"timeoutMs" must be a positive number of milliseconds');

  return {
    async remember(jti, expiresAt) {
      let answer: unknown;
      try {
        answer = await withTimeout(client.set(`${keyPrefix}${jti}`, '1', 'PXAT', expiresAt.getTime(), 'NX'), timeoutMs);
      } catch (error) {
        if (error instanceof Error && OUT_OF_MEMORY.test(error.message)) return { full: true };
        throw error;
      }
      if (answer === 'OK') return true;
      if (answer === null) return false;
      throw new Error(`Redis answered SET … NX with ${typeof answer === 'string' ? answer : typeof answer}, not OK or nil`);
    },
  };
}

function withTimeout<T>(pending: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([Promise.resolve(pending), expired]).finally(() => clearTimeout(timer));
}
