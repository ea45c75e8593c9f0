/**
 * Mints the identity token the gateway attaches to each subgraph request: the Principal, for one
 * subgraph (aud), one request (rbh), a short life never past the credential's, and a unique jti.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { IDENTITY_TOKEN_TYPE, requestBinding, type BoundRequest, type IdentityClaims } from '../../subgraphs/kit/contract.ts';
import type { Principal } from '../auth/principal.ts';
import type { SigningKey } from './keys.ts';

export interface IdentityMinterOptions {
  issuer: string;
  key: SigningKey;
  /** Token lifetime in milliseconds. */
  ttlMs: number;
  now?: () => number;
}

export type IdentityMinter = (principal: Principal, subgraph: string, request: BoundRequest) => Promise<string>;

export function createIdentityMinter(options: IdentityMinterOptions): IdentityMinter {
  const now = options.now ?? Date.now;
  const header = { alg: options.key.alg, kid: options.key.kid, typ: IDENTITY_TOKEN_TYPE };
  return async (principal, subgraph, request) => {
    const issuedAtMs = now();
    const expiresAtMs = Math.min(issuedAtMs + options.ttlMs, principal.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    const claims: Omit<IdentityClaims, 'iss' | 'aud' | 'iat' | 'exp' | 'jti'> = {
      scope: principal.scopes.join(' '),
      roles: [...principal.roles],
      amr: principal.method,
      rbh: requestBinding(request),
    };
    if (principal.tenant !== undefined) claims.tenant = principal.tenant;
    if (principal.clientId !== undefined) claims.client_id = principal.clientId;
    if (principal.issuer !== undefined) claims.orig_iss = principal.issuer;
    const jwt = new SignJWT(claims as unknown as Record<string, unknown>)
      .setProtectedHeader(header)
      .setIssuer(options.issuer)
      .setAudience(subgraph)
      .setIssuedAt(Math.floor(issuedAtMs / 1000))
      .setExpirationTime(Math.floor(expiresAtMs / 1000))
      .setJti(randomUUID());
    if (principal.subject !== undefined) jwt.setSubject(principal.subject);
    return jwt.sign(options.key.privateKey);
  };
}
