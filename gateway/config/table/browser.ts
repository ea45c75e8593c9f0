/**
 * Config table: browser frontends — CORS for apps on other origins, and backend-for-frontend cookie
 * sessions (docs/browser.md). Both are off unless configured.
 */
import { boolean, duration, integer, list, section, string, url, type FinishContext } from './fields.ts';

/** A serialised origin as browsers send it in `Origin`: scheme, host and a port only when not the default. */
export const ORIGIN_PATTERN = '^(\\*|https?://(\\[[0-9a-f:.]+\\]|[a-z0-9.-]+)(:[0-9]{1,5})?)$';
const origin = (doc: string) => string({ lowerCase: true, pattern: ORIGIN_PATTERN, patternProblem: 'must be an origin such as https://app.example or http://127.0.0.1:5173 (no path, no trailing slash)', doc });

/** Request headers a browser app may send cross-origin (the preflight's Access-Control-Allow-Headers). */
export const DEFAULT_ALLOW_HEADERS = ['content-type', 'authorization', 'x-request-id', 'x-frontdesk-csrf', 'apollo-require-preflight', 'traceparent', 'tracestate', 'baggage'];

export const cors = section('Cross-origin requests from browser apps (off unless `origins` is set).', {
  origins: list(origin('an allowed origin'), {
    defaultText: 'none (CORS off)',
    doc: 'origins allowed to call the gateway, matched exactly (no patterns); `*` allows any origin but never with `credentials`',
  }),
  credentials: boolean({ default: false, doc: '`true`: cookies may be sent (`Access-Control-Allow-Credentials`); needed for `sessions` across origins; refused with `*`' }),
  maxAge: duration({ default: '10m', max: '2h', hint: 'browsers cap it at 2h (Chromium) or 24h (Firefox)', doc: 'how long a browser may cache a preflight answer' }),
  allowHeaders: list(string({ lowerCase: true, pattern: '^[a-z0-9-]+$', patternProblem: 'must be a header name', doc: 'header name' }), {
    default: DEFAULT_ALLOW_HEADERS,
    doc: 'request headers a preflight may ask for; a preflight asking for any other gets no CORS headers',
  }),
  exposeHeaders: list(string({ lowerCase: true, pattern: '^[a-z0-9-]+$', patternProblem: 'must be a header name', doc: 'header name' }), {
    default: ['x-request-id', 'www-authenticate', 'retry-after'],
    doc: 'response headers a cross-origin app may read (`Access-Control-Expose-Headers`)',
  }),
});

export const sessions = section(
  'Backend-for-frontend cookie sessions: the gateway signs the user in with OIDC and keeps the tokens (off unless `issuer` is set).',
  {
    issuer: url({
      defaultText: 'none (sessions off)',
      doc: 'the OpenID provider (discovery at `<issuer>/.well-known/openid-configuration`); it must also be an `auth.jwt` issuer: its rules verify the session\'s access tokens; https unless loopback',
    }),
    clientId: string({ defaultText: 'required with `issuer`', doc: 'the gateway\'s client id at the provider (a confidential client)' }),
    clientSecret: string({ secret: true, defaultText: 'required with `issuer`', doc: 'its client secret (`client_secret_basic`); use `${VAR}`, never logged' }),
    redirectUri: url({ defaultText: 'required with `issuer`', doc: 'the gateway\'s public `/auth/callback` URL, registered at the provider; https unless loopback' }),
    appOrigins: list(origin('an app origin'), {
      defaultText: '`cors.origins`',
      doc: 'where `returnTo` may point and where cookie-authenticated requests may come from (their `Origin`); exact origins',
    }),
    postLogoutRedirectUri: url({ defaultText: 'none (the provider\'s own page)', doc: 'where the provider sends the browser after RP-initiated logout; registered at the provider' }),
    scopes: list(string({ doc: 'a scope' }), { default: ['openid', 'offline_access'], doc: 'scopes requested at sign-in; `openid` is required, `offline_access` gets a refresh token from most providers' }),
    resource: url({ defaultText: 'none', doc: 'RFC 8707 resource indicator sent with the authorization and token requests (providers that mint a JWT access token per API)' }),
    cookieName: string({
      default: '__Host-frontdesk-session',
      pattern: '^__Host-[A-Za-z0-9_-]{1,64}$',
      patternProblem: 'must start with __Host- (the cookie is Secure, Path=/, host-only) followed by letters, digits, _ or -',
      doc: 'the session cookie (HttpOnly, Secure, SameSite=Lax, Path=/): an opaque random id',
    }),
    idleTimeout: duration({ default: '1h', min: '1m', max: '30d', doc: 'a session unused for this long ends' }),
    maxAge: duration({ default: '12h', min: '1m', max: '90d', doc: 'a session ends this long after sign-in, whatever its use' }),
    refreshBefore: duration({ default: '30s', min: '1s', max: '10m', doc: 'refresh the access token this long before it expires (at most half its lifetime); one refresh per session at a time' }),
    loginTimeout: duration({ default: '10m', min: '1m', max: '1h', doc: 'how long a sign-in may take between `/auth/login` and `/auth/callback`' }),
    timeout: duration({ default: '5s', min: '100ms', max: '1m', doc: 'timeout of each call to the provider (discovery, code exchange, refresh)' }),
    maxSessions: integer({ default: 100_000, min: 1, max: 10_000_000, doc: 'sessions kept in memory; when full the least recently used one ends (its user signs in again)' }),
    maxPendingLogins: integer({ default: 10_000, min: 1, max: 1_000_000, doc: 'sign-ins in progress kept in memory; when full the oldest is forgotten' }),
  },
  (read, context) => finishSessions(read, context),
);

/** Sessions are off without an issuer; with one, the client registration must be complete. */
function finishSessions<R extends { issuer: string | undefined; clientId: string | undefined; clientSecret: string | undefined; redirectUri: string | undefined }>(
  read: R,
  { key, problem }: FinishContext,
): (R & { issuer: string; clientId: string; clientSecret: string; redirectUri: string }) | undefined {
  const { issuer, clientId, clientSecret, redirectUri } = read;
  if (issuer === undefined) {
    const stray = (['clientId', 'clientSecret', 'redirectUri'] as const).filter((name) => read[name] !== undefined);
    if (stray.length > 0) problem(`${key}.issuer: required when ${stray.map((name) => `${key}.${name}`).join(', ')} is set; name the OpenID provider, or remove the ${key} section`);
    return undefined;
  }
  const missing = (['clientId', 'clientSecret', 'redirectUri'] as const).filter((name) => read[name] === undefined);
  for (const name of missing) problem(`${key}.${name}: required with ${key}.issuer — register the gateway as a confidential client at the provider`);
  if (missing.length > 0) return undefined;
  return { ...read, issuer, clientId: clientId as string, clientSecret: clientSecret as string, redirectUri: redirectUri as string };
}

/** The origins a session's app runs on: `sessions.appOrigins`, else `cors.origins` (never `*`). */
export function sessionAppOrigins(config: { sessions?: { appOrigins: readonly string[] } | undefined; cors: { origins: readonly string[] } }): readonly string[] {
  const listed = config.sessions?.appOrigins.length ? config.sessions.appOrigins : config.cors.origins;
  return listed.filter((entry) => entry !== '*');
}
