/**
 * The Principal: who a request is made for, built once per request from a verified credential (public API).
 */
import { ANONYMOUS_FIELDS, CLAIM_LIMITS, parsePrincipalId, principalId, UNSAFE_IN_ITEM, type PrincipalFields } from '@frontdesk/kit/contract';
import type { ClaimMapping } from '../config/types.ts';
import { AuthError } from '../errors.ts';

/**
 * Who a request is made for: the fields every identity token carries (subgraphs/kit/contract/claims.ts),
 * and how long the credential holds. Policies compare `id`, unique across issuers and methods.
 */
export interface Principal extends PrincipalFields {
  /** When the credential expires (its exp; the gateway applies no clock tolerance to it); identity tokens never outlive it. */
  readonly expiresAt: Date | undefined;
}

export const ANONYMOUS: Principal = Object.freeze({ ...ANONYMOUS_FIELDS, expiresAt: undefined });

/** The gateway itself, when it calls a subgraph on its own behalf (health checks, schema loading). */
export function servicePrincipal(gatewayIssuer: string): Principal {
  return Object.freeze({ ...ANONYMOUS, id: principalId('service', gatewayIssuer, gatewayIssuer), subject: gatewayIssuer, method: 'service' });
}

/**
 * The principal of a cookie session: who its access token names (verified on the JWT path), reached
 * through the gateway's session, so `amr` is `session` and the id `session:<namespace>:<sub>`.
 */
export function sessionPrincipal(verified: Principal): Principal {
  const namespace = verified.id === undefined ? undefined : parsePrincipalId(verified.id)?.namespace;
  if (verified.subject === undefined || namespace === undefined) throw AuthError.invalidToken('session access token without a principal');
  return Object.freeze({ ...verified, method: 'session' as const, id: principalId('session', namespace, verified.subject) });
}

/**
 * Builds a Principal from a verified JWT payload (or an active introspection answer) and its issuer's
 * config; refuses ill-typed claims. `exp` must already be checked to be a number.
 */
export function principalFromClaims(
  payload: Readonly<Record<string, unknown>>,
  { issuer, principalNamespace, claims: mapping }: { issuer: string; principalNamespace: string; claims: ClaimMapping },
  method: 'jwt' | 'introspection' = 'jwt',
): Principal {
  const subject = readClaim(payload, mapping.subject);
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > CLAIM_LIMITS.subject) {
    throw AuthError.invalidToken(`claim ${mapping.subject} is not a string of 1-${CLAIM_LIMITS.subject} characters`);
  }
  const exp = payload.exp as number; // checked by the caller (jose, or the introspection answer check)
  return Object.freeze({
    id: principalId(method, principalNamespace, subject),
    subject,
    issuer,
    method,
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

/**
 * Union of the listed claims, each a space-separated string (RFC 8693 §4.2 scope, split on single spaces)
 * or an array of strings. An item holding whitespace or a control character is refused, not split: it
 * would be one scope here and could become several wherever a string form is split again (issue 11, hole 2).
 */
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
      if (UNSAFE_IN_ITEM.test(item)) throw AuthError.invalidToken(`claim ${name} has an item with whitespace or a control character`);
      if (item.length > CLAIM_LIMITS.item || out.size >= CLAIM_LIMITS.items) throw AuthError.invalidToken(`claim ${name} is too large`);
      out.add(item);
    }
  }
  return [...out];
}

function readOptionalString(payload: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = readClaim(payload, name);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > CLAIM_LIMITS.item) {
    throw AuthError.invalidToken(`claim ${name} is not a string of 1-${CLAIM_LIMITS.item} characters`);
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
