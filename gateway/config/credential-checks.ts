/**
 * Checks of the credentials other than JWTs (introspection, API keys, client certificates) that span
 * several keys; each says what to change (README.md "Configuration reference").
 */
import { existsSync } from 'node:fs';
import { isPlainHttpBeyondLoopback } from './read.ts';
import type { GatewayConfig } from './types.ts';

type Checked = Omit<GatewayConfig, 'source'>;
type Check = (config: Checked, problem: (message: string) => void) => void;

/** An opaque token names no issuer: with two servers, one would receive the other's tokens. */
export const checkIntrospection: Check = ({ auth, production }, problem) => {
  if (auth.introspection.length > 1) problem('auth.introspection: at most one authorization server (an opaque token does not say which one issued it, so a second would be sent the first one\'s tokens)');
  auth.introspection.forEach((entry, index) => {
    const at = `auth.introspection[${index}]`;
    if (entry.clientAuth === 'client_secret_basic' && entry.clientSecret === undefined) problem(`${at}.clientSecret: required with clientAuth client_secret_basic (use \${ENV})`);
    if (entry.clientAuth === 'private_key_jwt' && entry.clientKey === undefined) problem(`${at}.clientKey: required with clientAuth private_key_jwt (a private JWK file)`);
    if (entry.clientKey !== undefined && !existsSync(entry.clientKey)) problem(`${at}.clientKey: file ${entry.clientKey} does not exist`);
    if (!/^https?:\/\//.test(entry.issuer)) problem(`${at}.issuer: expected an http(s) URL, got "${entry.issuer}"`);
    // The token itself travels to the endpoint: over plain http anyone on the path reads it.
    const target = entry.endpoint ?? entry.issuer;
    if (production && isPlainHttpBeyondLoopback(target)) problem(`${at}: ${target} is plain http; tokens are sent to it, so use https when NODE_ENV=production (loopback hosts excepted)`);
  });
};

export const checkApiKeys: Check = ({ auth, forwardHeaders, store }, problem) => {
  if (!auth.apiKeys) return;
  const { header } = auth.apiKeys;
  if (auth.apiKeys.store === 'file' && !existsSync(auth.apiKeys.file)) {
    problem(`auth.apiKeys.file: ${auth.apiKeys.file} does not exist; create it with \`npm run apikey -- create --file ${auth.apiKeys.file} --name <name>\``);
  }
  if (auth.apiKeys.store === 'redis' && store === undefined) problem('auth.apiKeys.store: redis needs store.redis (docs/fleet.md); or use store: file with auth.apiKeys.file');
  if (header === 'authorization' || header === 'cookie' || header === 'proxy-authorization') problem(`auth.apiKeys.header: "${header}" carries other credentials; use x-api-key or another header of its own`);
  if (forwardHeaders.includes(header)) problem(`forwardHeaders: "${header}" is auth.apiKeys.header and is never forwarded; remove it`);
};

export const checkMtls: Check = ({ auth, listen }, problem) => {
  if (auth.mtls.identities.length > 0 && listen.tls?.clientCa === undefined) problem('auth.mtls.identities: client certificates need listen.tls with clientCa');
};

export const CREDENTIAL_CHECKS: readonly Check[] = [checkIntrospection, checkApiKeys, checkMtls];
