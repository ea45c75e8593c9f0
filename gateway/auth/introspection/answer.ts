/**
 * Checking an introspection answer (RFC 7662 §2.2) as strictly as a JWT: only a JSON object whose
 * `active` is the boolean `true` can authenticate (`"true"`, `1`, a missing member, non-JSON, an array all
 * are inactive); then `aud` must name a configured audience, `iss` (when present) the configured issuer,
 * `exp` must be present and not past (strict, like a JWT's), `nbf` and `iat` not in the future beyond the
 * tolerance, `token_type` the configured one, and `cnf` one we can check (RFC 8705).
 */
import type { IntrospectionConfig } from '../../config/types.ts';
import { AuthError } from '../../errors.ts';
import { boundCertificateOf } from '../certificate-binding.ts';
import type { Verified } from '../method.ts';
import { principalFromClaims } from '../principal.ts';

const INVALID = 'The access token is invalid';

export function verifiedFromAnswer(text: string, config: IntrospectionConfig, nowMs: number): Verified {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw AuthError.invalidToken('introspection answer is not JSON', INVALID);
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw AuthError.invalidToken('introspection answer is not a JSON object', INVALID);
  const a = answer as Record<string, unknown>;
  if (a.active !== true) throw AuthError.invalidToken(`introspection answer: active is ${JSON.stringify(a.active)?.slice(0, 20) ?? 'missing'}`, INVALID);

  const aud = typeof a.aud === 'string' ? [a.aud] : Array.isArray(a.aud) && a.aud.every((item) => typeof item === 'string') ? (a.aud as string[]) : undefined;
  if (!aud?.some((item) => config.audience.includes(item))) throw AuthError.invalidToken('introspection answer: aud missing or not configured', INVALID);
  if (a.iss !== undefined && a.iss !== config.issuer) throw AuthError.invalidToken('introspection answer: iss is not the configured issuer', INVALID);
  const tokenType = a.token_type;
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== config.tokenType.toLowerCase()) {
    throw AuthError.invalidToken(`introspection answer: token_type ${JSON.stringify(tokenType)?.slice(0, 40) ?? 'missing'}`, INVALID);
  }
  const time = (name: 'exp' | 'nbf' | 'iat'): number | undefined => {
    const value = a[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw AuthError.invalidToken(`introspection answer: ${name} is not a number`, INVALID);
    return value * 1000;
  };
  const exp = time('exp');
  // exp is required: cached results and identity tokens must never outlive the credential.
  if (exp === undefined) throw AuthError.invalidToken('introspection answer: no exp', INVALID);
  if (exp <= nowMs) throw AuthError.invalidToken('introspection answer: exp is past', 'The access token expired');
  const nbf = time('nbf');
  if (nbf !== undefined && nbf > nowMs + config.clockToleranceMs) throw AuthError.invalidToken('introspection answer: nbf is in the future', INVALID);
  const iat = time('iat');
  if (iat !== undefined && iat > nowMs + config.clockToleranceMs) throw AuthError.invalidToken('introspection answer: iat is in the future', INVALID);

  const principal = principalFromClaims({ ...a, exp: exp / 1000 }, config, 'introspection');
  const boundCertificate = boundCertificateOf(a.cnf);
  return {
    principal,
    expiresAtMs: exp,
    ...(boundCertificate === undefined ? {} : { boundCertificate }),
    ...(typeof a.jti === 'string' ? { tokenId: a.jti } : {}),
    ...(iat === undefined ? {} : { issuedAtMs: iat }),
  };
}
