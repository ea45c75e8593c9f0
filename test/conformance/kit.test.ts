/**
 * The TypeScript kit against the language-neutral conformance vectors (conformance/README.md): each token,
 * with its exact request body, under the frozen clock, is accepted with exactly the expected claims or
 * refused for exactly the expected reason. And the committed vectors are what the generator writes.
 */
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { readCommittedVectors, renderVectors, type Vector } from '../../conformance/generate.ts';
import { IdentityError } from '../../subgraphs/kit/errors.ts';
import { createIdentityVerifier, type Identity } from '../../subgraphs/kit/identity.ts';
import { REFUSAL_REASONS, type BoundRequest } from '../../subgraphs/kit/contract.ts';

const file = readCommittedVectors()!;
const jwks = JSON.parse(readFileSync(new URL(`../../conformance/${file.jwks}`, import.meta.url), 'utf8')) as JSONWebKeySet;
const verifier = createIdentityVerifier({
  subgraph: file.audience,
  issuer: file.issuer,
  jwks,
  clockToleranceSeconds: file.clockToleranceSeconds,
  currentDate: () => new Date(file.now * 1000),
});

/** The claims an accepted token's Identity stands for, in the token's own names. */
function claimsOf(identity: Identity): Record<string, unknown> {
  const claims: Record<string, unknown> = { scope: identity.scopes, roles: identity.roles, amr: [identity.method], jti: identity.tokenId, exp: identity.expiresAt.getTime() / 1000 };
  const optional = { sub: identity.subject, pid: identity.id, tenant: identity.tenant, client_id: identity.clientId, orig_iss: identity.issuer };
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) claims[name] = value;
  return claims;
}

async function verdict(vector: Vector): Promise<{ verdict: 'accept'; identity: Identity } | { verdict: 'refuse'; error: IdentityError }> {
  const headers: Record<string, string> = vector.token === null ? {} : { 'frontdesk-identity': vector.token };
  try {
    return { verdict: 'accept', identity: await verifier.verify(headers, JSON.parse(vector.body) as BoundRequest) };
  } catch (error) {
    if (error instanceof IdentityError) return { verdict: 'refuse', error };
    throw error;
  }
}

describe('conformance vectors: the TypeScript kit', () => {
  it('covers every refusal reason of the spec, and acceptance', () => {
    const reasons = new Set<string>(file.vectors.map((v) => (v.expected.verdict === 'refuse' ? v.expected.reason : 'accept')));
    expect([...REFUSAL_REASONS.filter((r) => r !== 'replay'), 'accept'].filter((r) => !reasons.has(r))).toEqual([]);
  });

  it.each(file.vectors.map((v) => [v.name, v] as const))('%s', async (_name, vector) => {
    const result = await verdict(vector);
    if (vector.expected.verdict === 'accept') {
      expect(result.verdict === 'refuse' ? result.error.reason : 'accepted').toBe('accepted');
      const identity = (result as { identity: Identity }).identity;
      const { claims } = vector.expected;
      const expected: Record<string, unknown> = { scope: claims.scope, roles: claims.roles, amr: claims.amr, jti: claims.jti, exp: claims.exp };
      for (const name of ['sub', 'pid', 'tenant', 'client_id', 'orig_iss']) if (name in claims) expected[name] = claims[name];
      expect(claimsOf(identity)).toEqual(expected);
    } else {
      expect(result.verdict === 'refuse' ? result.error.rule : 'accepted', result.verdict === 'refuse' ? result.error.reason : '').toBe(vector.expected.reason);
    }
  });

  it('the committed vectors are what `npm run conformance:generate` writes', () => {
    const rendered = renderVectors(file);
    expect(readFileSync(new URL('../../conformance/vectors.json', import.meta.url), 'utf8')).toBe(rendered['vectors.json']);
    expect(readFileSync(new URL('../../conformance/jwks.json', import.meta.url), 'utf8')).toBe(rendered['jwks.json']);
  });
});
