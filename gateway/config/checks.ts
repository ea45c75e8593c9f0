/**
 * Checks that span several keys, run after every key has been read on its own. Each is a named step that
 * records problems saying what to change (README.md "Configuration reference").
 */
import { existsSync } from 'node:fs';
import { CREDENTIAL_CHECKS } from './credential-checks.ts';
import { isPlainHttpBeyondLoopback } from './read.ts';
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
  if (!auth.anonymous && !someMethod) problem('auth: anonymous is false but no auth.jwt issuer, auth.introspection server, auth.apiKeys file or auth.mtls identity is configured, so every request would be refused');
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

/** Node refuses a `headersTimeout` above a non-zero `requestTimeout` (ERR_OUT_OF_RANGE at createServer). */
export const checkClientTimeouts: Check = ({ server }, problem) => {
  // An invalid requestTimeout reads as 0 and is already reported.
  if (server.requestTimeoutMs > 0 && server.headersTimeoutMs > server.requestTimeoutMs) {
    problem(`server.headersTimeout: ${server.headersTimeoutMs}ms is longer than server.requestTimeout (${server.requestTimeoutMs}ms), which covers the headers too; lower it or raise server.requestTimeout`);
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
];
