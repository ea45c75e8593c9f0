/**
 * The request binding of an identity token (`rbh`, docs/identity-token.md "The request binding"): the
 * gateway computes it over the body it sends, the kit over the body it receives.
 */
import { createHash } from 'node:crypto';

/** The part of a subgraph request that an identity token is bound to. */
export interface BoundRequest {
  query: string;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
}

/**
 * The request binding hash: base64url(SHA-256(JCS([query, operationName ?? null, variables ?? {}]))),
 * where JCS is the JSON Canonicalization Scheme of RFC 8785 (sorted keys, no whitespace, ECMAScript
 * number formatting). Both ends compute it from the parsed request, so it survives re-serialisation, and
 * any JCS library in another language computes the same value.
 */
export function requestBinding(request: BoundRequest): string {
  return encodeBoundRequest(request).binding;
}

/**
 * The JSON body of a subgraph request and its binding, from one serialisation of the variables (the
 * gateway's hot path: entity fetches carry hundreds of representations). The body's variables are in
 * canonical form, which is plain JSON, so the subgraph parses exactly what was hashed.
 */
export function encodeBoundRequest(request: BoundRequest): { body: string; binding: string } {
  // For a string or null, JSON.stringify is the JCS serialisation.
  const query = JSON.stringify(request.query);
  const operationName = JSON.stringify(request.operationName ?? null);
  const variables = canonicalJson(request.variables ?? {});
  const binding = createHash('sha256').update(`[${query},${operationName},${variables}]`, 'utf8').digest('base64url');
  return { body: `{"query":${query},"operationName":${operationName},"variables":${variables}}`, binding };
}

/** RFC 8785 canonical JSON for values produced by JSON.parse. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify implements ECMAScript number and string serialisation, which is what JCS specifies.
    const encoded = JSON.stringify(value);
    if (encoded === undefined) throw new TypeError(`value of type ${typeof value} has no JSON form`);
    return encoded;
  }
  // String concatenation rather than map/join: this runs on every subgraph fetch of the gateway.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      // Like JSON.stringify, an array slot holding undefined serialises as null.
      out += (i === 0 ? '' : ',') + (item === undefined ? 'null' : canonicalJson(item));
    }
    return `${out}]`;
  }
  // JCS sorts by UTF-16 code units, which is what the default sort does.
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
    first = false;
  }
  return `${out}}`;
}
