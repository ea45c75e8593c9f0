/**
 * Authentication, once per request: credential → Principal, or an AuthError that the server turns into
 * 401/503. An invalid credential is an error, never silently anonymous.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { AuthConfig } from '../config/types.ts';
import { AuthError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { extractCredential } from './credential.ts';
import { createJwtVerifier, type JwtVerifier, type VerifiedToken } from './jwt.ts';
import { ANONYMOUS, sessionPrincipal, type Principal } from './principal.ts';

export interface AuthRequest {
  rawHeaders: readonly string[];
  search: string;
  /** A cookie session's access token, resolved by the HTTP front: verified like a bearer token, method `session`. */
  session?: { accessToken: string };
}

export interface Authenticator {
  /** Resolves the caller's Principal; throws AuthError. */
  authenticate(request: AuthRequest): Promise<Principal>;
  readonly jwt: JwtVerifier;
  /** Counters, for tests and metrics: signature verifications performed and cache hits. */
  readonly stats: { verifications: number; cacheHits: number };
}

export function createAuthenticator(config: AuthConfig, options: { log: Logger; now?: () => number }): Authenticator {
  const now = options.now ?? Date.now;
  const jwt = createJwtVerifier(config.jwt, options);
  const stats = { verifications: 0, cacheHits: 0 };
  // Keyed by a digest, so 10 000 entries cost ~1 MB whatever the token size. Successes only: a failure
  // must be re-checked (it may be an unknown kid that a key refresh resolves).
  const cache =
    config.cache.maxEntries > 0 ? new LRUCache<string, VerifiedToken>({ max: config.cache.maxEntries, ttlAutopurge: false }) : undefined;
  const inflight = new Map<string, Promise<VerifiedToken>>();

  const verifyOnce = async (token: string): Promise<VerifiedToken> => {
    const key = cache ? createHash('sha256').update(token).digest('base64url') : '';
    if (cache) {
      const hit = cache.get(key);
      // Never past exp, whatever the cache TTL says.
      if (hit && hit.expiresAtMs > now()) {
        stats.cacheHits++;
        return hit;
      }
      // Concurrent first requests with the same token share one verification.
      const pending = inflight.get(key);
      if (pending) return pending;
    }
    const verification = (async () => {
      stats.verifications++;
      const verified = await jwt.verify(token);
      if (cache) {
        const ttl = Math.min(config.cache.ttlMs, verified.expiresAtMs - now());
        if (ttl > 0) cache.set(key, verified, { ttl });
      }
      return verified;
    })();
    if (!cache) return verification;
    inflight.set(key, verification);
    try {
      return await verification;
    } finally {
      inflight.delete(key);
    }
  };

  return {
    jwt,
    stats,
    async authenticate(request) {
      const credential = extractCredential(request.rawHeaders, request.search, config.maxTokenBytes);
      if (request.session) {
        // One credential per request (RFC 6750 §2): a cookie session beside a bearer token is ambiguous.
        if (credential.kind !== 'none') throw AuthError.invalidRequest('session cookie and Authorization header', 'Send either the session cookie or an Authorization header, not both');
        return sessionPrincipal((await verifyOnce(request.session.accessToken)).principal);
      }
      if (credential.kind === 'none') {
        if (config.anonymous) return ANONYMOUS;
        throw AuthError.missing();
      }
      if (config.jwt.length === 0) throw AuthError.invalidToken('a bearer token was sent but no issuer is configured');
      return (await verifyOnce(credential.token)).principal;
    },
  };
}
