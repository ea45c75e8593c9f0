/**
 * Verification keys from a JSON Web Key Set, for jose's `jwtVerify`. Used by the kit (the gateway's
 * keys) and by the gateway (each identity provider's keys).
 *
 * Why not jose's createRemoteJWKSet: once its cache is older than `cacheMaxAge` a failed refetch fails
 * every verification, its cooldown restarts only on a successful fetch (so a down provider is asked again
 * on every unknown `kid`), and it reads a response of any size. Here:
 * - one fetch in flight at a time, shared by every waiting request (single flight);
 * - an unknown `kid` causes a fetch only when the last attempt (any cause, success or failure) is at least
 *   `minIntervalMs` old, and at most `cooldownFetches` times in any `cooldownMs` (a sliding window), so a key
 *   rotated in right after a fetch is found within `minIntervalMs` of its first use, while a flood of
 *   random `kid`s costs the provider at most `cooldownFetches` fetches per `cooldownMs`;
 * - a request with an unknown `kid` that arrives while a fetch is in flight waits for that fetch
 *   (unless the provider's last answer was a failure: then it fails fast);
 * - keys older than `maxAgeMs` are refreshed before use, so a key the provider removed stops verifying
 *   within `maxAgeMs`; while the provider is down, the stale keys keep verifying (stale-while-error);
 * - a fetch that removes or changes a key bumps `revision`: a verification cached at an older revision no
 *   longer stands (`holds`, used by gateway/auth/verification-cache.ts), and `holds` refreshes keys older
 *   than `maxAgeMs` first, so while the provider answers a cached verification cannot outlive its key by
 *   more than `maxAgeMs`;
 * - responses are bounded while they stream (`maxBytes`, bounded-read.ts) and time-limited (`timeoutMs`).
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { fetchKeySet } from './key-set-fetch.ts';

export interface RemoteKeySetOptions {
  /** Fetch timeout in milliseconds. Default is 5000 (5 seconds). */
  timeoutMs?: number;
  /**
   * Window in which at most `cooldownFetches` fetches are caused by unknown `kid`s, in milliseconds. Default
   * is 30000 (30 seconds).
   */
  cooldownMs?: number;
  /** Most fetches caused by unknown `kid`s in any `cooldownMs`. Default is 2. */
  cooldownFetches?: number;
  /**
   * Least age of the last fetch attempt before an unknown `kid` may cause another, in milliseconds; capped at
   * `cooldownMs`. Also how long a failed first fetch is answered from memory. Default is 5000 (5 seconds).
   */
  minIntervalMs?: number;
  /**
   * Age after which keys are fetched again before use, in milliseconds: a removed key stops verifying
   * within it. Default is 300000 (5 minutes).
   */
  maxAgeMs?: number;
  /** Largest accepted key set response, in bytes. Default is 262144 (256 KiB). */
  maxBytes?: number;
  /** Clock, for tests. Default is Date.now. */
  now?: () => number;
  /** Called after every fetch attempt, for logs and metrics. */
  onFetch?: (event: { url: string; ok: boolean; error?: Error; keys?: number }) => void;
}

/** The key set could not be obtained at all (never fetched successfully): callers answer 503. */
export class KeySetUnavailableError extends Error {
  readonly code = 'ERR_KEY_SET_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySetUnavailableError';
  }
}

export interface KeySet {
  /** The resolver to pass to jose's `jwtVerify`. */
  readonly getKey: JWTVerifyGetKey;
  /** Fetches now (single flight); resolves when the key set is current. Rejects when the fetch fails. */
  refresh(): Promise<void>;
  /** The currently cached set, if any. */
  current(): JSONWebKeySet | undefined;
  /** How many fetches so far removed or changed a key. Read it before verifying, to cache the result. */
  readonly revision: number;
  /**
   * Whether a verification made at `revision` still stands: false once a fetch removed or changed a key.
   * Keys older than `maxAgeMs` are refreshed first (a promise, then); otherwise it answers at once.
   */
  holds(revision: number): boolean | Promise<boolean>;
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

/** A static key set, e.g. read from a file at boot. */
export function createStaticKeySet(jwks: JSONWebKeySet): KeySet {
  const local = createLocalJWKSet(jwks);
  return { getKey: local, refresh: async () => {}, current: () => local.jwks(), revision: 0, holds: () => true };
}

export function createRemoteKeySet(url: URL, options: RemoteKeySetOptions = {}): KeySet {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const cooldownFetches = options.cooldownFetches ?? 2;
  const minIntervalMs = Math.min(options.minIntervalMs ?? 5_000, cooldownMs);
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const maxBytes = options.maxBytes ?? 262_144;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(cooldownFetches) || cooldownFetches < 1) throw new TypeError('"cooldownFetches" must be a whole number of at least 1');

  let local: LocalKeySet | undefined;
  let identities: ReadonlySet<string> = new Set(); // keyIdentity of each key in `local`
  let revision = 0; // fetches that removed or changed a key
  let fetchedAt = Number.NEGATIVE_INFINITY; // last successful fetch
  let attemptedAt = Number.NEGATIVE_INFINITY; // last attempt, success or not
  let lastAttemptFailed = false;
  let pending: Promise<void> | undefined;
  const unknownKidFetches: number[] = []; // when the last `cooldownFetches` fetches for an unknown kid started

  const refresh = (): Promise<void> => {
    pending ??= (async () => {
      attemptedAt = now();
      try {
        const jwks = await fetchKeySet(url, timeoutMs, maxBytes);
        const next = createLocalJWKSet(jwks);
        const nextIdentities = new Set(jwks.keys.map(keyIdentity));
        // `local` and `revision` change together, with no await between: a stamp read before a verification
        // is never newer than the keys it used.
        if ([...identities].some((identity) => !nextIdentities.has(identity))) revision++;
        identities = nextIdentities;
        local = next;
        fetchedAt = now();
        lastAttemptFailed = false;
        options.onFetch?.({ url: url.href, ok: true, keys: jwks.keys.length });
      } catch (cause) {
        lastAttemptFailed = true;
        const error = cause instanceof Error ? cause : new Error(String(cause));
        options.onFetch?.({ url: url.href, ok: false, error });
        throw error;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  const unavailable = (cause?: unknown) =>
    new KeySetUnavailableError(`key set ${url.href} is unavailable`, { cause });

  /**
   * Past maxAgeMs, the refresh to wait for (single flight), so a key the provider removed stops verifying
   * within maxAgeMs. While the provider is failing, none: the stale keys answer and the refresh runs behind
   * the request (stale-while-error), so an outage of the provider is not an outage of the gateway.
   */
  const freshen = (): Promise<void> | undefined => {
    if (now() - fetchedAt <= maxAgeMs) return undefined;
    const providerFailing = lastAttemptFailed;
    const refreshing = pending ?? (now() - attemptedAt > Math.min(cooldownMs, maxAgeMs) ? refresh() : undefined);
    const settled = refreshing?.catch(() => {});
    return providerFailing ? undefined : settled;
  };

  /** Whether an unknown kid may cause a fetch now (minIntervalMs, then the sliding window); counts it if so. */
  const mayFetchForUnknownKid = (): boolean => {
    const at = now();
    if (at - attemptedAt < minIntervalMs) return false;
    if (unknownKidFetches.length >= cooldownFetches && at - (unknownKidFetches[0] as number) < cooldownMs) return false;
    unknownKidFetches.push(at);
    if (unknownKidFetches.length > cooldownFetches) unknownKidFetches.shift();
    return true;
  };

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!local) {
      // Cold: nothing to verify with. Fail fast while the last attempt is recent and failed.
      if (lastAttemptFailed && now() - attemptedAt < minIntervalMs) throw unavailable();
      try {
        await refresh();
      } catch (cause) {
        throw unavailable(cause);
      }
    } else {
      const refreshing = freshen();
      if (refreshing) await refreshing;
    }
    try {
      return await (local as LocalKeySet)(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (pending && !lastAttemptFailed) {
        // A fetch is already in flight (another request's unknown kid, or a background refresh): wait for
        // it rather than answer "invalid" for a kid it may be about to bring (a key rotation seen by many
        // requests at once). Bounded by timeoutMs. While the provider is known to be failing, fail fast.
        try {
          await pending;
        } catch (cause) {
          throw unavailable(cause);
        }
        return (local as LocalKeySet)(header, token);
      }
      if (!mayFetchForUnknownKid()) {
        // No fetch allowed yet and the last attempt failed: we cannot tell whether the kid is new, so we are
        // unavailable, not "invalid".
        if (lastAttemptFailed) throw unavailable();
        throw error;
      }
      try {
        await refresh();
      } catch (cause) {
        throw unavailable(cause);
      }
      return (local as LocalKeySet)(header, token);
    }
  };

  const holds = (stamp: number): boolean | Promise<boolean> => {
    if (stamp !== revision) return false;
    const refreshing = freshen();
    return refreshing ? refreshing.then(() => stamp === revision) : true;
  };

  return {
    getKey,
    refresh,
    current: () => local?.jwks(),
    get revision() {
      return revision;
    },
    holds,
  };
}

/** A key's identity across fetches: every member, in a stable order, so a changed key counts as removed. */
function keyIdentity(key: JSONWebKeySet['keys'][number]): string {
  return JSON.stringify(Object.keys(key).sort().map((name) => [name, (key as Record<string, unknown>)[name]]));
}
