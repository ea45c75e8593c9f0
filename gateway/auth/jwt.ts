/**
 * JWT bearer tokens, verified with jose against the keys of the one configured issuer the token names.
 * Checks (RFC 8725, RFC 9068): algorithm allowlist per issuer (HMAC and none never), exact iss, aud from
 * config, exp required, nbf and iat honoured with a small explicit tolerance, lifetime bounded, typ where
 * configured. Keys named inside the token (jwk, jku, x5u, x5c) are never used: jose only calls getKey.
 */
import { readFileSync } from 'node:fs';
import { decodeJwt, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { createRemoteKeySet, createStaticKeySet, KeySetUnavailableError, type KeySet } from '@frontdesk/kit/key-set';
import type { JwtIssuerConfig } from '../config/types.ts';
import { AuthError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { boundCertificateOf } from './certificate-binding.ts';
import { createDiscoveredKeySet } from './discovery.ts';
import { principalFromClaims, type Principal } from './principal.ts';

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface VerifiedToken {
  principal: Principal;
  /** exp, in milliseconds since the epoch. */
  expiresAtMs: number;
  /** RFC 8705 `cnf.x5t#S256`: the client certificate the token is bound to. */
  boundCertificate?: string;
  /** The issuer's key set and its revision before verifying: a cached result stands while `keySet.holds(keyRevision)`. */
  keySet: KeySet;
  keyRevision: number;
  /** `jti` and `iat` (ms), when present: what revocations compare (docs/fleet.md "Revocation"). */
  tokenId?: string;
  issuedAtMs?: number;
}

export interface JwtVerifier {
  verify(token: string): Promise<VerifiedToken>;
  /** Per configured issuer, its key set (for readiness and tests). */
  readonly keySets: ReadonlyMap<string, KeySet>;
}

export interface JwtVerifierOptions {
  log: Logger;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
  /** Every key set or discovery fetch, for metrics. */
  onKeySetFetch?: (issuer: string, ok: boolean) => void;
}

export function createJwtVerifier(issuers: readonly JwtIssuerConfig[], options: JwtVerifierOptions): JwtVerifier {
  const now = options.now ?? Date.now;
  const byIssuer = new Map<string, { config: JwtIssuerConfig; keySet: KeySet }>();
  for (const config of issuers) byIssuer.set(config.issuer, { config, keySet: keySetFor(config, options) });

  return {
    keySets: new Map([...byIssuer].map(([issuer, { keySet }]) => [issuer, keySet])),
    async verify(token) {
      // A JWS compact serialisation is exactly three unpadded base64url parts (RFC 7515 §7.1, §2); five
      // is a JWE, which we never decrypt. Padding or the base64 alphabet would make a token malleable.
      if (!JWS_COMPACT.test(token)) throw AuthError.invalidToken('not a JWS compact serialisation');
      let unverified: JWTPayload;
      try {
        unverified = decodeJwt(token);
      } catch (error) {
        throw AuthError.invalidToken(`malformed JWT: ${(error as Error).message}`);
      }
      // The unverified iss only selects among configured issuers; an unknown one never causes a fetch.
      const entry = typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : undefined;
      if (!entry) throw AuthError.invalidToken(`issuer ${JSON.stringify(unverified.iss)?.slice(0, 200)} is not configured`);
      const { config, keySet } = entry;
      // Read before the key is looked up: a removal during this verification makes its cached result
      // verify again, never stand.
      const keyRevision = keySet.revision;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keySet.getKey, {
          issuer: config.issuer,
          audience: [...config.audience],
          algorithms: [...config.algorithms],
          ...(config.typ ? { typ: config.typ } : {}),
          clockTolerance: Math.round(config.clockToleranceMs / 1000),
          requiredClaims: ['exp'],
          currentDate: new Date(now()),
        }));
      } catch (error) {
        if (error instanceof KeySetUnavailableError) throw AuthError.unavailable(`keys of ${config.issuer} unavailable`, error);
        if (error instanceof errors.JWTExpired) throw AuthError.expired(`${error.code}: ${error.message}`, error);
        const code = error instanceof errors.JOSEError ? error.code : 'ERR_UNEXPECTED';
        throw AuthError.invalidToken(`${code}: ${(error as Error).message}`, 'The access token is invalid', error);
      }
      const exp = payload.exp as number;
      // clockTolerance is for nbf and iat (a token just issued by an IdP whose clock runs ahead). exp is
      // strict: identity tokens never outlive the credential, and one minted for a credential already past
      // its exp would be dead on arrival at the subgraph.
      if (exp * 1000 <= now()) throw AuthError.expired('"exp" claim timestamp check failed (no tolerance on exp)');
      const issuedAt = typeof payload.iat === 'number' ? payload.iat * 1000 : now();
      // jose checks a future iat only together with maxTokenAge; a future iat is always refused (RFC 8725 §3.10, README "Authentication").
      if (issuedAt > now() + config.clockToleranceMs) throw AuthError.invalidToken('iat is in the future');
      if (exp * 1000 - issuedAt > config.maxLifetimeMs) {
        throw AuthError.invalidToken(`token lifetime ${Math.round((exp * 1000 - issuedAt) / 1000)}s exceeds maxLifetime`);
      }
      const principal = principalFromClaims(payload as Record<string, unknown>, config);
      const boundCertificate = boundCertificateOf(payload.cnf);
      return {
        principal,
        expiresAtMs: exp * 1000,
        keySet,
        keyRevision,
        ...(boundCertificate === undefined ? {} : { boundCertificate }),
        ...(typeof payload.jti === 'string' ? { tokenId: payload.jti } : {}),
        ...(typeof payload.iat === 'number' ? { issuedAtMs: payload.iat * 1000 } : {}),
      };
    },
  };
}

function keySetFor(config: JwtIssuerConfig, { log, now, onKeySetFetch }: JwtVerifierOptions): KeySet {
  const remote = {
    timeoutMs: config.jwksTimeoutMs,
    cooldownMs: config.jwksCooldownMs,
    cooldownFetches: config.jwksCooldownFetches,
    minIntervalMs: config.jwksMinIntervalMs,
    maxAgeMs: config.jwksMaxAgeMs,
    ...(now ? { now } : {}),
    onFetch: (event: { url: string; ok: boolean; error?: Error; keys?: number }) => {
      onKeySetFetch?.(config.issuer, event.ok);
      if (event.ok) log.info('key set fetched', { issuer: config.issuer, url: event.url, keys: event.keys });
      else log.warn('key set fetch failed', { issuer: config.issuer, url: event.url, error: event.error });
    },
  };
  switch (config.jwks.kind) {
    case 'file':
      return createStaticKeySet(JSON.parse(readFileSync(config.jwks.path, 'utf8')) as JSONWebKeySet);
    case 'url':
      return createRemoteKeySet(new URL(config.jwks.url), remote);
    case 'discovery':
      return createDiscoveredKeySet(config.issuer, config.jwks.url, remote);
  }
}
