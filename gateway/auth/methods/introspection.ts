/**
 * Opaque access tokens, introspected at their authorization server (RFC 7662; README "Opaque tokens").
 * By shape: it claims a bearer token that is not a JWS, or a JWS whose unverified `iss` is this server and
 * no `auth.jwt` issuer (a JWT we could verify locally is never sent away). Answers are cached per token
 * digest — actives never past `exp`, refusals for `negativeCacheTtl` — with one request in flight per
 * token; an outage is a 503 and is never remembered.
 */
import { decodeJwt } from 'jose';
import type { IntrospectionConfig } from '../../config/types.ts';
import { AuthError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { verifiedFromAnswer } from '../introspection/answer.ts';
import { createIntrospectionEndpoint } from '../introspection/endpoint.ts';
import type { AuthenticationMethod, Verified } from '../method.ts';
import { createVerificationCache, type VerificationStats } from '../verification-cache.ts';

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface IntrospectionMethod extends AuthenticationMethod<string> {
  /** Introspection requests made (`verifications`) and answers reused (`cacheHits`, refusals included). */
  readonly stats: VerificationStats;
}

export function introspectionMethod(
  config: IntrospectionConfig,
  options: { log: Logger; now: () => number; maxEntries: number; jwtIssuers: ReadonlySet<string> },
): IntrospectionMethod {
  const { now } = options;
  const endpoint = createIntrospectionEndpoint(config, { now });
  const stats: VerificationStats = { verifications: 0, cacheHits: 0 };
  const verify = createVerificationCache<Verified>(
    { maxEntries: options.maxEntries, ttlMs: config.cacheTtlMs, negativeTtlMs: config.negativeCacheTtlMs, now },
    async (token) => {
      const answer = await endpoint.introspect(token);
      // Oversized: not a well-formed answer, so not active (the rule), remembered like any refusal.
      if (answer.kind === 'unusable') throw AuthError.invalidToken(`introspection answer unusable: ${answer.reason}`);
      return verifiedFromAnswer(answer.text, config, now());
    },
    stats,
  );
  const claims = (token: string): boolean => {
    if (!JWS_COMPACT.test(token)) return true;
    try {
      const { iss } = decodeJwt(token);
      return iss === config.issuer && !options.jwtIssuers.has(iss);
    } catch {
      return false; // a malformed JWS is the JWT method's to refuse
    }
  };
  return {
    name: 'introspection',
    stats,
    extract: ({ bearer }) => (bearer !== undefined && claims(bearer) ? { carrier: 'authorization', credential: bearer } : undefined),
    verify: (token) => verify(token),
  };
}
