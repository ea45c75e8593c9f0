/**
 * Checks that span several keys, run after every key has been read on its own. Each is a named step that
 * records problems saying what to change (README.md "Configuration reference").
 */
import { existsSync } from 'node:fs';
import { CREDENTIAL_CHECKS } from './credential-checks.ts';
import { isPlainHttpBeyondLoopback } from './read.ts';
import { ORIGIN_PATTERN, sessionAppOrigins } from './table/browser.ts';
import type { GatewayConfig } from './types.ts';

type Checked = Omit<GatewayConfig, 'source'>;
type Check = (config: Checked, problem: (message: string) => void) => void;

/**
 * Headers that carry or could spoof identity, or belong to one hop only: never forwarded to subgraphs,
 * whatever `forwardHeaders` says.
 */
const NEVER_FORWARDED = /^(authorization|proxy-authorization|cookie|set-cookie|host|connection|keep-alive|te|trailer|transfer-encoding|upgrade|content-length|content-type|forwarded|via|x-real-ip|x-forwarded-.*|x-original-.*|x-client-.*|x-user.*|x-auth.*|x-identity.*|x-api-key|x-principal.*|x-remote-user|remote-user|x-jwt.*|x-token.*|frontdesk-.*|x-frontdesk-.*)$/;

export const checkForwardHeaders: Check = ({ forwardHeaders, identity }, problem) => {
  for (const header of forwardHeaders) {
    if (NEVER_FORWARDED.test(header) || header === identity.header) {
      problem(`forwardHeaders: "${header}" carries identity or is hop-by-hop and is never forwarded; remove it`);
    }
  }
};

export const checkSomeoneCanCall: Check = ({ auth }, problem) => {
  const someMethod = auth.jwt.length > 0 || auth.introspection.length > 0 || auth.apiKeys !== undefined || auth.mtls.identities.length > 0;
  if (!auth.anonymous && !someMethod) problem('auth: anonymous is false but no auth.jwt issuer, auth.introspection server, auth.apiKeys store or auth.mtls identity is configured, so every request would be refused');
};

export const checkIssuersUnique: Check = ({ auth }, problem) => {
  const seen = new Set<string>();
  for (const { issuer } of auth.jwt) {
    if (issuer && seen.has(issuer)) problem(`auth.jwt: issuer ${issuer} is listed twice; merge the two entries`);
    seen.add(issuer);
  }
};

export const checkTokenFitsInHeaders: Check = ({ auth, server }, problem) => {
  if (auth.maxTokenBytes >= server.maxHeaderBytes) {
    problem(`auth.maxTokenBytes: ${auth.maxTokenBytes} does not fit in server.maxHeaderBytes (${server.maxHeaderBytes}); lower it or raise server.maxHeaderBytes`);
  }
};

/**
 * Issuer keys fetched over plain http can be swapped by anyone on the path, and then any token verifies.
 * Loopback never leaves the host (a sidecar, the local stack), so it is allowed.
 */
export const checkKeySetTransport: Check = ({ production, auth }, problem) => {
  if (!production) return;
  auth.jwt.forEach(({ jwks, issuer }, index) => {
    if (jwks.kind === 'file' || !isPlainHttpBeyondLoopback(jwks.url)) return;
    if (jwks.kind === 'url') {
      problem(`auth.jwt[${index}].jwks: ${jwks.url} is plain http; key sets must be fetched over https when NODE_ENV=production (loopback hosts excepted): use an https URL or a file`);
    } else {
      problem(`auth.jwt[${index}].issuer: ${issuer} is plain http and its keys would be found by OIDC discovery over http; when NODE_ENV=production use an https issuer, or set jwks to an https URL or a file`);
    }
  });
};


export const checkDevKeys: Check = ({ production, identity }, problem) => {
  if (identity.devKeys && production) {
    problem('identity.devKeys: generated development keys are refused when NODE_ENV=production; provision keys and list them in identity.keys');
  }
};

export const checkIdentityKeyFiles: Check = ({ identity }, problem) => {
  if (identity.devKeys) return; // generated on boot
  identity.keys.forEach(({ file }, index) => {
    if (file && !existsSync(file)) problem(`identity.keys[${index}].file: ${file} does not exist`);
  });
};

/**
 * CORS answers with exact origins. `*` with credentials would let any site read a signed-in user's data, so
 * browsers refuse it and so do we, at boot (Fetch standard, CORS protocol and credentials).
 */
export const checkCors: Check = ({ cors }, problem) => {
  const wildcard = cors.origins.includes('*');
  if (wildcard && cors.credentials) problem('cors.origins: "*" cannot be used with cors.credentials: true; list the exact origins of your apps');
  if (wildcard && cors.origins.length > 1) problem('cors.origins: "*" already allows every origin; list exact origins or "*" alone');
  for (const origin of cors.origins) {
    if (origin !== '*' && !isCanonicalOrigin(origin)) problem(`cors.origins: "${origin}" is not an origin as browsers send it; write ${canonical(origin)}`);
  }
};

/**
 * Sessions verify their access tokens through auth.jwt, answer only to known app origins, and set a
 * Secure cookie — which browsers keep over plain http only on loopback (docs/browser.md "Cookies").
 */
export const checkSessions: Check = (config, problem) => {
  const { sessions, auth, cors } = config;
  if (!sessions) return;
  if (!auth.jwt.some(({ issuer }) => issuer === sessions.issuer)) {
    problem(`sessions.issuer: ${sessions.issuer} is not an auth.jwt issuer; add it there (with the audience of its access tokens) so session access tokens are verified like any bearer token`);
  }
  for (const [key, value] of [['issuer', sessions.issuer], ['redirectUri', sessions.redirectUri]] as const) {
    if (isPlainHttpBeyondLoopback(value)) problem(`sessions.${key}: ${value} is plain http; use https (plain http is accepted on loopback hosts only, for development)`);
  }
  if (new URL(sessions.redirectUri).pathname !== '/auth/callback') problem(`sessions.redirectUri: ${sessions.redirectUri} must end in /auth/callback, the gateway's callback route`);
  if (!sessions.scopes.includes('openid')) problem('sessions.scopes: must include openid (the ID token proves who signed in)');
  for (const origin of sessions.appOrigins) {
    if (origin === '*') problem('sessions.appOrigins: "*" is not allowed; list the exact origins of your apps');
    else if (!isCanonicalOrigin(origin)) problem(`sessions.appOrigins: "${origin}" is not an origin as browsers send it; write ${canonical(origin)}`);
  }
  const apps = sessionAppOrigins(config);
  if (apps.length === 0) problem('sessions.appOrigins: empty and cors.origins lists no exact origin; list the origins your app runs on (returnTo and cookie requests are accepted from them only)');
  const gatewayOrigin = new URL(sessions.redirectUri).origin;
  const crossOrigin = apps.filter((origin) => origin !== gatewayOrigin);
  if (crossOrigin.length > 0 && (!cors.credentials || crossOrigin.some((origin) => !cors.origins.includes(origin)))) {
    problem(`cors: apps on ${crossOrigin.join(', ')} call the gateway (${gatewayOrigin}) with the session cookie; list them in cors.origins and set cors.credentials: true`);
  }
};

/** Origins that already failed the table's pattern were reported there. */
function isCanonicalOrigin(origin: string): boolean {
  return !new RegExp(ORIGIN_PATTERN).test(origin) || canonical(origin) === origin;
}

function canonical(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return 'scheme://host[:port]';
  }
}

/** Node refuses a `headersTimeout` above a non-zero `requestTimeout` (ERR_OUT_OF_RANGE at createServer). */
export const checkClientTimeouts: Check = ({ server }, problem) => {
  // An invalid requestTimeout reads as 0 and is already reported.
  if (server.requestTimeoutMs > 0 && server.headersTimeoutMs > server.requestTimeoutMs) {
    problem(`server.headersTimeout: ${server.headersTimeoutMs}ms is longer than server.requestTimeout (${server.requestTimeoutMs}ms), which covers the headers too; lower it or raise server.requestTimeout`);
  }
};

/** The admin endpoint lives on the metrics listener; revocations must outlive what they refuse (docs/fleet.md "Revocation"). */
export const checkRevocation: Check = ({ admin, metrics, revocation, auth, sessions }, problem) => {
  if (admin.token !== undefined && metrics.listen.port === undefined) {
    problem('admin.token: the admin endpoint is served on the metrics listener; set metrics.listen.port (never the public port), or remove admin.token');
  }
  const longest = Math.max(0, ...auth.jwt.map((issuer) => issuer.maxLifetimeMs), sessions?.maxAgeMs ?? 0);
  if (revocation.retentionMs !== undefined && revocation.retentionMs < longest) {
    problem(`revocation.retention: ${revocation.retentionMs}ms is shorter than the longest credential lifetime accepted (${longest}ms, auth.jwt[].maxLifetime or sessions.maxAge): a revoked credential would be accepted again before it expires; raise it or leave it unset`);
  }
};

export const CHECKS: readonly Check[] = [
  checkForwardHeaders,
  ...CREDENTIAL_CHECKS,
  checkSomeoneCanCall,
  checkIssuersUnique,
  checkTokenFitsInHeaders,
  checkClientTimeouts,
  checkKeySetTransport,
  checkDevKeys,
  checkIdentityKeyFiles,
  checkCors,
  checkSessions,
  checkRevocation,
];
