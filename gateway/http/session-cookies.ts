/**
 * The session cookies on the wire, and the rules a cookie-authenticated request must pass before anything
 * runs: one session cookie, an allowed `Origin`, and the CSRF header. No other credential beside it is
 * the authentication chain's rule (gateway/auth/methods/session.ts).
 *
 * Cookies are `__Host-` prefixed, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, host-only (RFC 6265bis
 * §4.1.3.2). Browsers keep `Secure` cookies set over plain http on loopback hosts (Chromium treats
 * http://127.0.0.1 and http://localhost as potentially trustworthy), which is what the local stack uses;
 * anywhere else sessions need https (checkSessions).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthError } from '../errors.ts';

/** The header a cookie-authenticated request must carry: a simple cross-site form or `no-cors` fetch cannot send it. */
export const CSRF_HEADER = 'x-frontdesk-csrf';

/** An id made by `randomId()`: 32 bytes, base64url. Anything else is not one of ours. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Every value of cookie `name` in the request (RFC 6265 §5.4 `Cookie` syntax). Values are returned as
 * sent, only when they look like our ids; a wrong-looking value counts, so forged cookies are noticed.
 */
export function cookieValues(req: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if ((req.rawHeaders[i] as string).toLowerCase() !== 'cookie') continue;
    for (const pair of (req.rawHeaders[i + 1] as string).split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
      values.push(pair.slice(eq + 1).trim());
    }
  }
  return values;
}

/** The one session id the request carries: undefined when none; a malformed or duplicated one is an invalid credential. */
export function sessionIdOf(req: IncomingMessage, name: string): string | undefined {
  const values = cookieValues(req, name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw AuthError.invalidRequest('two session cookies', 'Send one session cookie');
  const value = values[0] as string;
  if (!SESSION_ID.test(value)) throw AuthError.sessionEnded('malformed session cookie');
  return value;
}

/**
 * A state-changing request authenticated by cookie must prove it is not cross-site: its `Origin` is one of
 * the app origins, and it carries `x-frontdesk-csrf` (a custom header forces a CORS preflight, which only
 * allowed origins pass). Refused as 401 invalid_request, like any other misuse of a credential.
 */
export function requireSameApp(req: IncomingMessage, appOrigins: ReadonlySet<string>): void {
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || !appOrigins.has(origin)) {
    throw AuthError.invalidRequest(`session cookie from origin ${JSON.stringify(origin)?.slice(0, 100)}`, 'The session cookie is accepted only from the app\'s origins');
  }
  if (req.headers[CSRF_HEADER] === undefined) {
    throw AuthError.invalidRequest(`session cookie without ${CSRF_HEADER}`, `Cookie-authenticated requests must send the ${CSRF_HEADER} header`);
  }
}

export interface CookieOptions {
  maxAgeSeconds?: number;
}

/** Appends a `Set-Cookie` (keeping any already set). An empty value with max-age 0 deletes the cookie. */
export function setCookie(res: ServerResponse, name: string, value: string, { maxAgeSeconds }: CookieOptions = {}): void {
  const attributes = [`${name}=${value}`, 'Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax'];
  if (maxAgeSeconds !== undefined) attributes.push(`Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`);
  const previous = res.getHeader('set-cookie');
  const list = previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
  res.setHeader('set-cookie', [...list, attributes.join('; ')]);
}

export function clearCookie(res: ServerResponse, name: string): void {
  setCookie(res, name, '', { maxAgeSeconds: 0 });
}
