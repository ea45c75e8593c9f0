/**
 * The Principal: who a request is made for, built once per request from a verified credential (public API).
 */
import type { AuthMethod } from '@frontdesk/kit/contract';
import type { ClaimMapping } from '../config/types.ts';
import { AuthError } from '../errors.ts';

export interface Principal {
  /** Undefined only for anonymous callers. */
  readonly subject: string | undefined;
  /** The identity provider that vouched for the caller. */
  readonly issuer: string | undefined;
  readonly method: AuthMethod;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly tenant: string | undefined;
  readonly clientId: string | undefined;
  /** When the credential expires (its `exp`, strictly: clock tolerance covers nbf and iat only); identity tokens never outlive it. */
  readonly expiresAt: Date | undefined;
}

export const ANONYMOUS: Principal = Object.freeze({
  subject: undefined,
  issuer: undefined,
  method: 'anonymous',
  scopes: Object.freeze([]) as readonly string[],
  roles: Object.freeze([]) as readonly string[],
  tenant: undefined,
  clientId: undefined,
  expiresAt: undefined,
});

/** The gateway itself, when it calls a subgraph on its own behalf (health checks, schema loading). */
export function servicePrincipal(gatewayIssuer: string): Principal {
  return Object.freeze({ ...ANONYMOUS, subject: gatewayIssuer, method: 'service' });
}

const MAX_SUBJECT = 255;
const MAX_ITEMS = 256;
const MAX_ITEM = 256;

/** Builds a Principal from a verified JWT payload and the issuer's claim mapping; refuses ill-typed claims. */
export function principalFromClaims(payload: Readonly<Record<string, unknown>>, issuer: string, mapping: ClaimMapping): Principal {
  const subject = readClaim(payload, mapping.subject);
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT) {
    throw AuthError.invalidToken(`claim ${mapping.subject} is not a string of 1-${MAX_SUBJECT} characters`);
  }
  const exp = payload.exp as number; // jose checked it is a number
  return Object.freeze({
    subject,
    issuer,
    method: 'jwt' as const,
    scopes: Object.freeze(readList(payload, mapping.scopes)),
    roles: Object.freeze(readList(payload, mapping.roles)),
    tenant: mapping.tenant === undefined ? undefined : readOptionalString(payload, mapping.tenant),
    clientId: firstString(payload, mapping.clientId),
    expiresAt: new Date(exp * 1000),
  });
}

/**
 * Reads a claim by exact name first (Auth0-style namespaced claims are URLs full of dots), then as a
 * dotted path into nested objects (Keycloak's realm_access.roles). Only own properties are read, so
 * `__proto__` or `constructor` in a token or a mapping never reach the prototype chain.
 */
export function readClaim(payload: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let current: unknown = payload;
  for (const segment of name.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Union of the listed claims, each a space-separated string (RFC 8693 scope) or an array of strings. */
function readList(payload: Readonly<Record<string, unknown>>, names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const name of names) {
    const value = readClaim(payload, name);
    if (value === undefined) continue;
    const items = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : undefined;
    if (!items) throw AuthError.invalidToken(`claim ${name} is neither a string nor an array`);
    for (const item of items) {
      if (typeof item !== 'string') throw AuthError.invalidToken(`claim ${name} has a non-string item`);
      if (item.length === 0) continue;
      if (item.length > MAX_ITEM || out.size >= MAX_ITEMS) throw AuthError.invalidToken(`claim ${name} is too large`);
      out.add(item);
    }
  }
  return [...out];
}

function readOptionalString(payload: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = readClaim(payload, name);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ITEM) {
    throw AuthError.invalidToken(`claim ${name} is not a string of 1-${MAX_ITEM} characters`);
  }
  return value;
}

function firstString(payload: Readonly<Record<string, unknown>>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = readOptionalString(payload, name);
    if (value !== undefined) return value;
  }
  return undefined;
}
