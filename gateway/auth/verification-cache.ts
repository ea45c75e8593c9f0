/**
 * Verification results by token digest: bounded (LRU), never past the credential's own expiry nor past
 * what it rests on (`holds`: a JWT's key still published), one verification in flight per token shared by
 * every request carrying it, and — for methods that ask someone over the network — a short memory of
 * refusals, so a flood of one bad token asks once.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AuthError } from '../errors.ts';

export interface VerificationCacheOptions<T = unknown> {
  /** Most entries (LRU); 0 turns caching and sharing off. */
  maxEntries: number;
  /** Longest reuse of a success, in ms; never past its `expiresAtMs`. */
  ttlMs: number;
  /** How long a refusal (401, never a 503) is remembered, in ms. Default 0: not at all. */
  negativeTtlMs?: number;
  now: () => number;
  /**
   * Whether a cached success still stands, asked on every hit (keep it cheap: a promise only when it must
   * wait). False: the entry is dropped and the token verified again. Default: always.
   */
  holds?: (verified: T) => boolean | Promise<boolean>;
}

export interface VerificationStats {
  verifications: number;
  cacheHits: number;
}

export function createVerificationCache<T extends { expiresAtMs: number }>(
  options: VerificationCacheOptions<T>,
  verify: (token: string) => Promise<T>,
  stats: VerificationStats = { verifications: 0, cacheHits: 0 },
): (token: string) => Promise<T> {
  const { maxEntries, ttlMs, now, holds } = options;
  const negativeTtlMs = options.negativeTtlMs ?? 0;
  if (maxEntries === 0) {
    return (token) => {
      stats.verifications++;
      return verify(token);
    };
  }
  // Keyed by a digest, so 10 000 entries cost ~1 MB whatever the token size.
  const hits = new LRUCache<string, T>({ max: maxEntries, ttlAutopurge: false });
  // Refusals carry their own deadline on the injected clock, so tests can freeze time.
  const refusals = negativeTtlMs > 0 ? new LRUCache<string, { error: AuthError; untilMs: number }>({ max: maxEntries }) : undefined;
  const inflight = new Map<string, Promise<T>>();

  return async (token) => {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = hits.get(key);
    // Never past exp, whatever the cache TTL says.
    if (hit && hit.expiresAtMs > now()) {
      const holding = holds ? holds(hit) : true;
      if (holding === true || (holding !== false && (await holding))) {
        stats.cacheHits++;
        return hit;
      }
      if (hits.get(key) === hit) hits.delete(key);
    }
    const refused = refusals?.get(key);
    if (refused && refused.untilMs > now()) {
      stats.cacheHits++;
      throw refused.error;
    }
    // Concurrent first requests with the same token share one verification.
    const pending = inflight.get(key);
    if (pending) return pending;
    const verification = (async () => {
      stats.verifications++;
      try {
        const verified = await verify(token);
        const ttl = Math.min(ttlMs, verified.expiresAtMs - now());
        if (ttl > 0) hits.set(key, verified, { ttl });
        return verified;
      } catch (error) {
        // An unavailable verifier is never remembered: it says nothing about the token.
        if (refusals && error instanceof AuthError && error.code === 'UNAUTHENTICATED') refusals.set(key, { error, untilMs: now() + negativeTtlMs });
        throw error;
      }
    })();
    inflight.set(key, verification);
    try {
      return await verification;
    } finally {
      inflight.delete(key);
    }
  };
}
