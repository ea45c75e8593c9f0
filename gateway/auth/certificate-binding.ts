/**
 * Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf` names a certificate thumbprint is
 * only good over a TLS connection whose client certificate has that thumbprint, so a stolen bound token
 * is useless. Read from a JWT's payload or an introspection answer alike (§3.1, §3.2).
 */
import { AuthError } from '../errors.ts';

const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/**
 * The `x5t#S256` a token is bound to, or undefined when it has no `cnf`. A `cnf` we cannot check (DPoP's
 * `jkt`, anything unknown) is refused: accepting it would drop the sender constraint its issuer asked for.
 */
export function boundCertificateOf(cnf: unknown): string | undefined {
  if (cnf === undefined) return undefined;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) throw AuthError.invalidToken('cnf is not an object');
  const members = Object.keys(cnf);
  const thumbprint = (cnf as Record<string, unknown>)['x5t#S256'];
  if (members.length !== 1 || typeof thumbprint !== 'string' || !THUMBPRINT.test(thumbprint)) {
    throw AuthError.invalidToken(`cnf holds ${members.join(', ').slice(0, 100) || 'nothing'}; only x5t#S256 can be checked`);
  }
  return thumbprint;
}
