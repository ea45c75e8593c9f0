/**
 * Who a request is made for, both ways across the wire: the fields the gateway's Principal and the kit's
 * Identity share, how the gateway writes them as claims and how the kit reads them back — strictly, so
 * what a subgraph reads is exactly what the gateway believed (docs/identity-token.md "Claims").
 */
import { AUTH_METHODS, CLAIM_LIMITS, type AuthMethod, type IdentityClaims, type RefusalReason } from './token.ts';

/** The fields of a principal that travel in an identity token. Adding one touches this file and the gateway's mapping. */
export interface PrincipalFields {
  /**
   * What policies compare: unique across issuers and methods (see principalId). Undefined only for
   * anonymous callers.
   */
  readonly id: string | undefined;
  /** The caller's `sub` at the issuer that vouched for them; undefined only for anonymous callers. */
  readonly subject: string | undefined;
  /** The identity provider that vouched for the caller; undefined for anonymous and service callers, and for API keys and client certificates (the gateway's own store or CA vouched). */
  readonly issuer: string | undefined;
  readonly method: AuthMethod;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly tenant: string | undefined;
  readonly clientId: string | undefined;
}

/** The anonymous caller's fields. */
export const ANONYMOUS_FIELDS: PrincipalFields = Object.freeze({
  id: undefined,
  subject: undefined,
  issuer: undefined,
  method: 'anonymous',
  scopes: Object.freeze([]) as readonly string[],
  roles: Object.freeze([]) as readonly string[],
  tenant: undefined,
  clientId: undefined,
});

/** An identity token's claims broke a rule of the contract. */
export class ClaimError extends Error {
  readonly rule: RefusalReason;
  constructor(rule: RefusalReason, message: string) {
    super(message);
    this.name = 'ClaimError';
    this.rule = rule;
  }
}

/**
 * A principal id: `<method>:<namespace>:<subject>`, the namespace percent-encoded over every octet of its
 * UTF-8 form outside RFC 3986 §2.3's unreserved set (so it holds no `:`). The namespace is the issuer
 * that vouched for the subject unless the gateway's config names another (`auth.jwt[].principalNamespace`):
 * `jwt:https%3A%2F%2Fidp.example:u2`. Method and namespace hold no `:`, so the first two `:` split the id
 * unambiguously, and two principals share an id only if method, namespace and subject are all equal.
 */
export function principalId(method: AuthMethod, namespace: string, subject: string): string {
  return `${method}:${encodeNamespace(namespace)}:${subject}`;
}

/** The parts of a principal id; undefined when `id` is not one. */
export function parsePrincipalId(id: string): { method: AuthMethod; namespace: string; subject: string } | undefined {
  const first = id.indexOf(':');
  const second = id.indexOf(':', first + 1);
  if (first < 0 || second < 0) return undefined;
  const method = id.slice(0, first);
  const encoded = id.slice(first + 1, second);
  if (!isAuthMethod(method) || !ENCODED_NAMESPACE.test(encoded)) return undefined;
  try {
    return { method, namespace: decodeURIComponent(encoded), subject: id.slice(second + 1) };
  } catch {
    return undefined; // percent-escapes that are not UTF-8
  }
}

const ENCODED_NAMESPACE = /^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+$/;

function encodeNamespace(namespace: string): string {
  // encodeURIComponent keeps !'()* as well, which RFC 3986 §2.2 reserves.
  return encodeURIComponent(namespace).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** True for a scope or role the contract can carry: 1-256 characters, no whitespace, no control character. */
export function isClaimItem(item: unknown): item is string {
  return typeof item === 'string' && item.length > 0 && item.length <= CLAIM_LIMITS.item && !UNSAFE_IN_ITEM.test(item);
}

/** Whitespace (any Unicode space, line or paragraph separator) or a control character (C0, DEL, C1). */
export const UNSAFE_IN_ITEM = /[\s\p{Cc}]/u;

const isAuthMethod = (value: unknown): value is AuthMethod => (AUTH_METHODS as readonly unknown[]).includes(value);

type PrincipalClaims = Pick<IdentityClaims, 'sub' | 'pid' | 'scope' | 'roles' | 'tenant' | 'client_id' | 'amr' | 'orig_iss'>;

/** The gateway side: a principal's claims, in the order they are written. */
export function principalClaims(principal: PrincipalFields): PrincipalClaims {
  if (principal.method !== 'anonymous' && (principal.id === undefined || principal.subject === undefined)) {
    throw new TypeError(`a ${principal.method} principal needs an id and a subject`);
  }
  const claims: PrincipalClaims = { scope: [...principal.scopes], roles: [...principal.roles], amr: [principal.method] };
  if (principal.subject !== undefined) claims.sub = principal.subject;
  if (principal.id !== undefined) claims.pid = principal.id;
  if (principal.tenant !== undefined) claims.tenant = principal.tenant;
  if (principal.clientId !== undefined) claims.client_id = principal.clientId;
  if (principal.issuer !== undefined) claims.orig_iss = principal.issuer;
  return claims;
}

/**
 * The kit side: the principal a verified payload names. Every claim is type-checked and bounded; anything
 * else — a scope string (v0), an `amr` string (v0), an item with whitespace, a `pid` that is not this
 * method's id for this `sub` — throws a ClaimError naming the rule.
 */
export function readPrincipalClaims(payload: Readonly<Record<string, unknown>>): PrincipalFields {
  const amr = payload.amr;
  if (!Array.isArray(amr) || amr.length !== 1 || !isAuthMethod(amr[0])) {
    throw new ClaimError('amr', 'amr is not an array of exactly one known method');
  }
  const method = amr[0];
  const subject = optionalString(payload, 'sub', CLAIM_LIMITS.subject);
  const id = optionalString(payload, 'pid', CLAIM_LIMITS.id);
  if (method === 'anonymous') {
    if (subject !== undefined || id !== undefined) throw new ClaimError('claims', 'an anonymous token has a sub or pid');
  } else {
    if (subject === undefined || id === undefined) throw new ClaimError('claims', `a ${method} token has no sub or no pid`);
    const parsed = parsePrincipalId(id);
    if (parsed?.method !== method || parsed.subject !== subject) throw new ClaimError('claims', 'pid is not the id of this amr and sub');
  }
  return Object.freeze({
    id,
    subject,
    issuer: optionalString(payload, 'orig_iss', CLAIM_LIMITS.issuer),
    method,
    scopes: itemList(payload, 'scope'),
    roles: itemList(payload, 'roles'),
    tenant: optionalString(payload, 'tenant', CLAIM_LIMITS.item),
    clientId: optionalString(payload, 'client_id', CLAIM_LIMITS.item),
  });
}

function optionalString(payload: Readonly<Record<string, unknown>>, claim: string, max: number): string | undefined {
  if (!Object.hasOwn(payload, claim)) return undefined;
  const value = payload[claim];
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new ClaimError('claims', `${claim} is not a string of 1-${max} characters`);
  }
  return value;
}

function itemList(payload: Readonly<Record<string, unknown>>, claim: 'scope' | 'roles'): readonly string[] {
  const value = payload[claim];
  if (!Array.isArray(value) || value.length > CLAIM_LIMITS.items || !value.every(isClaimItem)) {
    throw new ClaimError('claims', `${claim} is not an array of at most ${CLAIM_LIMITS.items} items without whitespace`);
  }
  return Object.freeze([...value]);
}
