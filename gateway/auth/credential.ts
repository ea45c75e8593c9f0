/**
 * Finds the caller's credential in the HTTP request, refusing ambiguous requests (RFC 6750 §2: a client
 * MUST NOT use more than one method to transmit the token).
 */
import { AuthError } from '../errors.ts';

export type Credential = { kind: 'none' } | { kind: 'bearer'; token: string };

/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * @param rawHeaders Node's `req.rawHeaders` (name, value, name, value…). Node keeps only the first of
 *   duplicate Authorization headers in `req.headers`, so duplicates are only visible here.
 * @param search the URL query string; a token there (RFC 6750 §2.3) is refused: URLs end up in logs.
 */
export function extractCredential(rawHeaders: readonly string[], search: string, maxTokenBytes: number): Credential {
  let authorization: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() !== 'authorization') continue;
    if (authorization !== undefined) throw AuthError.invalidRequest('two Authorization headers', 'Send exactly one Authorization header');
    authorization = rawHeaders[i + 1] as string;
  }
  if (search.length > 1 && new URLSearchParams(search).has('access_token')) {
    throw AuthError.invalidRequest('access_token in the URL', 'Send the token in the Authorization header, not the URL');
  }
  if (authorization === undefined) return { kind: 'none' };
  if (authorization.length > maxTokenBytes + 7) throw AuthError.invalidToken(`credential of ${authorization.length} bytes exceeds the limit`, 'The access token is too large');
  const space = authorization.indexOf(' ');
  const scheme = space < 0 ? authorization : authorization.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') {
    // RFC 6750 §3.1: an unsupported authentication method gets a challenge without an error code. It is
    // still refused: a credential we cannot check is never treated as anonymous.
    throw new AuthError('UNAUTHENTICATED', { description: 'Use the Bearer scheme', reason: `unsupported Authorization scheme "${scheme.slice(0, 20)}"` });
  }
  const token = authorization.slice(space + 1).trim();
  if (space < 0 || token.length === 0) throw AuthError.invalidRequest('empty Bearer credential', 'The Bearer credential is empty');
  if (!B64TOKEN.test(token)) throw AuthError.invalidToken('credential has characters outside b64token');
  return { kind: 'bearer', token };
}
