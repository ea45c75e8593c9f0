/**
 * Mints the identity token the gateway attaches to each subgraph request: the Principal, for one
 * subgraph (aud), one request (rbh), a short life never past the credential's, and a unique jti.
 */
import { randomUUID } from 'node:crypto';
import { CompactSign } from 'jose';
import { IDENTITY_TOKEN_TYPE, principalClaims, requestBinding, type BoundRequest } from '@frontdesk/kit/contract';
import type { Principal } from '../auth/principal.ts';
import type { SigningKey } from './keys.ts';

export interface IdentityMinterOptions {
  issuer: string;
  key: SigningKey;
  /** Token lifetime in milliseconds. */
  ttlMs: number;
  now?: () => number;
}

/** Mints a token for `principal`, for `subgraph`, bound to a request (or to its precomputed binding). */
export type IdentityMinter = (principal: Principal, subgraph: string, request: BoundRequest | { binding: string }) => Promise<string>;

const encoder = new TextEncoder();

export function createIdentityMinter(options: IdentityMinterOptions): IdentityMinter {
  const now = options.now ?? Date.now;
  const header = { alg: options.key.alg, kid: options.key.kid, typ: IDENTITY_TOKEN_TYPE };
  const issuer = JSON.stringify(options.issuer);
  // The principal's claims are the same in every token of a request (three fetches, three tokens):
  // serialised once per Principal object, not once per fetch.
  const serialised = new WeakMap<Principal, string>();
  const claimsOf = (principal: Principal): string => {
    let json = serialised.get(principal);
    if (json === undefined) {
      json = JSON.stringify(principalClaims(principal)).slice(1, -1);
      serialised.set(principal, json);
    }
    return json;
  };

  return async (principal, subgraph, request) => {
    const issuedAtMs = now();
    const expiresAtMs = Math.min(issuedAtMs + options.ttlMs, principal.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    const binding = 'binding' in request ? request.binding : requestBinding(request);
    const payload =
      `{"iss":${issuer},"aud":${JSON.stringify(subgraph)},"iat":${Math.floor(issuedAtMs / 1000)},` +
      `"exp":${Math.floor(expiresAtMs / 1000)},"jti":"${randomUUID()}","rbh":"${binding}",${claimsOf(principal)}}`;
    return new CompactSign(encoder.encode(payload)).setProtectedHeader(header).sign(options.key.privateKey);
  };
}
