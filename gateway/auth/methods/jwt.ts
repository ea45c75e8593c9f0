/**
 * The JWT method: a bearer token verified locally against its issuer's keys (../jwt.ts), through the
 * verification cache. Last in the chain among bearer methods, it takes every bearer token no other
 * method claimed by shape, so one that nobody can check is refused here (401), never anonymous. A cached
 * verification stops standing once a refresh of its issuer's key set removes or changes a key.
 */
import type { AuthConfig } from '../../config/types.ts';
import { AuthError } from '../../errors.ts';
import type { JwtVerifier, VerifiedToken } from '../jwt.ts';
import type { AuthenticationMethod } from '../method.ts';
import { createVerificationCache, type VerificationStats } from '../verification-cache.ts';

export function jwtMethod(
  verifier: JwtVerifier,
  config: Pick<AuthConfig, 'jwt' | 'cache'>,
  options: { now: () => number; stats: VerificationStats },
): AuthenticationMethod<string> {
  const verify = createVerificationCache<VerifiedToken>(
    {
      maxEntries: config.cache.maxEntries,
      ttlMs: config.cache.ttlMs,
      now: options.now,
      // A success stands only while its issuer still publishes the keys it was verified with (key-set.ts).
      holds: (verified) => verified.keySet.holds(verified.keyRevision),
    },
    (token) => verifier.verify(token),
    options.stats,
  );
  return {
    name: 'jwt',
    extract: ({ bearer }) => (bearer === undefined ? undefined : { carrier: 'authorization', credential: bearer }),
    async verify(token) {
      if (config.jwt.length === 0) throw AuthError.invalidToken('a bearer token was sent but no issuer is configured');
      return verify(token);
    },
  };
}
