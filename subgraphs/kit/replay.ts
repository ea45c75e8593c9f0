/**
 * Replay protection for identity tokens: a `jti` is accepted once, and refused for as long as the verifier
 * would still accept its token (expiry + clock tolerance; docs/identity-token.md, verification step 8).
 *
 * A store that runs out of room must never make room by forgetting an unexpired `jti`: that would let
 * anyone who can send enough traffic flush it and replay a captured token. A full store answers "full"
 * and the request is refused with 503 AUTH_UNAVAILABLE and Retry-After (fail closed). How to size it:
 * docs/subgraph-guide.md, "Replay protection".
 */
import { IdentityError } from './errors.ts';

/** A store's answer when it cannot record a new `jti` without forgetting a live one. */
export interface ReplayStoreFull {
  readonly full: true;
  /** When room is expected (the first entry's expiry), in seconds; the client's Retry-After. */
  readonly retryAfterSeconds?: number;
}

/**
 * `true`: the jti was new and is now recorded until the given expiry. `false`: it was already recorded
 * (a replay). `{ full: true }`: it could not be recorded without evicting an unexpired entry.
 */
export type ReplayVerdict = boolean | ReplayStoreFull;

/**
 * Remembers seen `jti`s until they expire, to refuse replays. For several replicas, the kit's Redis store
 * (./redis-replay.ts) implements it with `SET jti 1 PXAT expiry NX`. The contract: never drop an entry before its expiry — a store with
 * a memory bound answers `{ full: true }` instead (Redis: `maxmemory-policy noeviction`, and an OOM error
 * answered as full). Throwing, or any other answer, refuses the request with 503 too.
 */
export interface ReplayStore {
  remember(jti: string, expiresAt: Date): ReplayVerdict | Promise<ReplayVerdict>;
}

export interface MemoryReplayStoreOptions {
  /** Most `jti`s held at once. Default is 100000. Size it as peak tokens per second × acceptance window. */
  maxEntries?: number;
  /** Clock in milliseconds, for tests. Default is Date.now. */
  now?: () => number;
}

/** Seconds a client should wait when a custom store fails without saying when room frees up. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;
/** The longest Retry-After we pass on: no identity token lives longer (docs/identity-token.md). */
const MAX_RETRY_AFTER_SECONDS = 600;

/**
 * A bounded in-memory replay store for one process. Expired entries are purged as they age out; when
 * `maxEntries` unexpired entries are held, new `jti`s are answered `{ full: true }` until one expires.
 */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): ReplayStore {
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('"maxEntries" must be a positive integer');
  const now = options.now ?? Date.now;
  // Insertion order is nearly expiry order (one token lifetime), but a token cut short by its credential's
  // expiry can expire before older ones: the cheap purge drops expired heads, a full sweep the rest.
  const seen = new Map<string, number>();
  // No entry expires before this time (valid after a full sweep); saves re-sweeping while still full.
  let noExpiryBefore = Number.NEGATIVE_INFINITY;

  const purgeHead = (time: number) => {
    for (const [key, expiry] of seen) {
      if (expiry > time) break;
      seen.delete(key);
    }
  };
  const sweep = (time: number) => {
    let earliest = Number.POSITIVE_INFINITY;
    for (const [key, expiry] of seen) {
      if (expiry <= time) seen.delete(key);
      else earliest = Math.min(earliest, expiry);
    }
    noExpiryBefore = earliest;
  };

  return {
    remember(jti, expiresAt) {
      const time = now();
      purgeHead(time);
      const known = seen.get(jti);
      if (known !== undefined) {
        if (known > time) return false;
        seen.delete(jti);
      }
      if (seen.size >= maxEntries && time >= noExpiryBefore) sweep(time);
      if (seen.size >= maxEntries) {
        return { full: true, retryAfterSeconds: Math.max(1, Math.ceil((noExpiryBefore - time) / 1000)) };
      }
      const expiry = expiresAt.getTime();
      seen.set(jti, expiry);
      noExpiryBefore = Math.min(noExpiryBefore, expiry);
      return true;
    },
  };
}

/**
 * Records `jti` in `store`, or throws the IdentityError the request is refused with: UNAUTHENTICATED for a
 * replay, AUTH_UNAVAILABLE (503, fail closed) when the store is full, fails or answers nonsense.
 */
export async function rememberTokenId(store: ReplayStore, jti: string, acceptedUntil: Date): Promise<void> {
  let verdict: unknown;
  try {
    verdict = await store.remember(jti, acceptedUntil);
  } catch (error) {
    throw new IdentityError('AUTH_UNAVAILABLE', 'replay store failed', { cause: error, retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS });
  }
  if (verdict === true) return;
  if (verdict === false) throw new IdentityError('UNAUTHENTICATED', `identity token replayed (jti ${jti})`, { rule: 'replay' });
  if (typeof verdict === 'object' && verdict !== null && (verdict as ReplayStoreFull).full === true) {
    const retry = (verdict as ReplayStoreFull).retryAfterSeconds;
    const retryAfterSeconds = typeof retry === 'number' && Number.isFinite(retry) && retry >= 1 ? Math.min(Math.ceil(retry), MAX_RETRY_AFTER_SECONDS) : DEFAULT_RETRY_AFTER_SECONDS;
    throw new IdentityError('AUTH_UNAVAILABLE', 'replay store full: refusing rather than forgetting an unexpired jti', { retryAfterSeconds });
  }
  throw new IdentityError('AUTH_UNAVAILABLE', `replay store answered ${typeof verdict}, not true, false or { full: true }`, {
    retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
  });
}
