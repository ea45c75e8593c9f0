import { exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createIdentityMinter } from '../../../gateway/identity/mint.ts';
import type { Principal } from '../../../gateway/auth/principal.ts';
import { IdentityError } from '../../../subgraphs/kit/errors.ts';
import { createIdentityVerifier } from '../../../subgraphs/kit/identity.ts';
import { createMemoryReplayStore, type ReplayStore } from '../../../subgraphs/kit/replay.ts';

describe('createMemoryReplayStore', () => {
  it('refuses a jti it has seen until that jti expires', () => {
    let now = 1_000_000;
    const store = createMemoryReplayStore({ now: () => now });
    const expiresAt = new Date(now + 60_000);
    expect(store.remember('a', expiresAt)).toBe(true);
    expect(store.remember('b', expiresAt)).toBe(true);
    expect(store.remember('a', expiresAt)).toBe(false);
    expect(store.remember('a', expiresAt)).toBe(false);
    now += 59_999;
    expect(store.remember('a', expiresAt)).toBe(false);
    expect(store.remember('b', expiresAt)).toBe(false);
  });

  it('forgets a jti once it has expired', () => {
    let now = 1_000_000;
    const store = createMemoryReplayStore({ now: () => now });
    expect(store.remember('a', new Date(now + 1_000))).toBe(true);
    expect(store.remember('b', new Date(now + 5_000))).toBe(true);
    now += 1_000;
    expect(store.remember('a', new Date(now + 1_000))).toBe(true); // expired → forgotten → accepted as new
    expect(store.remember('b', new Date(now + 5_000))).toBe(false); // not yet expired
    now += 4_000;
    expect(store.remember('b', new Date(now + 5_000))).toBe(true);
  });
  // Bounded without forgetting a live jti: see replay-full.test.ts (issue 11, hole 4).
});

describe('the verifier with a replay store', () => {
  const issuer = 'https://gateway.test';
  const body = { query: '{ users { id } }', operationName: null, variables: {} };
  const user: Principal = Object.freeze({
    id: 'jwt:https%3A%2F%2Fidp.test:u1',
    subject: 'u1',
    issuer: 'https://idp.test',
    method: 'jwt',
    scopes: ['a'],
    roles: [],
    tenant: undefined,
    clientId: undefined,
    expiresAt: undefined,
  });
  let jwks: JSONWebKeySet;
  let mint: ReturnType<typeof createIdentityMinter>;
  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA');
    jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }] };
    mint = createIdentityMinter({ issuer, key: { kid: 'k1', alg: 'EdDSA', privateKey }, ttlMs: 60_000 });
  });

  const headers = (token: string) => ({ 'frontdesk-identity': token });

  async function refusal(promise: Promise<unknown>): Promise<IdentityError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IdentityError);
    return error as IdentityError;
  }

  it('replay: true refuses the second use of a token; without it both uses pass', async () => {
    const token = await mint(user, 'accounts', body);
    const strict = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks, replay: true });
    expect((await strict.verify(headers(token), body)).subject).toBe('u1');
    const error = await refusal(strict.verify(headers(token), body));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.reason).toMatch(/replayed/);
    // another token for the same user and request is fine: the jti is per token
    expect((await strict.verify(headers(await mint(user, 'accounts', body)), body)).subject).toBe('u1');

    const lax = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks });
    await lax.verify(headers(token), body);
    await lax.verify(headers(token), body);
  });

  it('a refused token (other request) does not use up its jti', async () => {
    const token = await mint(user, 'accounts', body);
    const strict = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks, replay: true });
    await refusal(strict.verify(headers(token), { ...body, query: '{ users { id username } }' }));
    expect((await strict.verify(headers(token), body)).tokenId).toBeTruthy();
  });

  it('uses a pluggable store, and refuses when the store says it has seen the jti', async () => {
    const seen: Array<[string, number]> = [];
    const store: ReplayStore = {
      remember: async (jti, expiresAt) => {
        const known = seen.some(([j]) => j === jti);
        seen.push([jti, expiresAt.getTime()]);
        return !known;
      },
    };
    const token = await mint(user, 'accounts', body);
    const verifier = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks, replay: store });
    const identity = await verifier.verify(headers(token), body);
    await refusal(verifier.verify(headers(token), body));
    expect(seen.map(([jti]) => jti)).toEqual([identity.tokenId, identity.tokenId]);
  });

  it('remembers a jti for as long as the verifier would still accept the token (expiry + clock tolerance)', async () => {
    const token = await mint(user, 'accounts', body);
    const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    let now = exp - 1_000;
    const verifier = createIdentityVerifier({
      subgraph: 'accounts',
      issuer,
      jwks,
      clockToleranceSeconds: 5,
      replay: createMemoryReplayStore({ now: () => now }),
      currentDate: () => new Date(now),
    });
    await verifier.verify(headers(token), body);
    // Past exp but within the clock tolerance the signature and claims still pass: the jti must still be known.
    now = exp + 3_000;
    expect((await refusal(verifier.verify(headers(token), body))).reason).toMatch(/replayed/);
    // Past the tolerance it is refused for expiry.
    now = exp + 6_000;
    expect((await refusal(verifier.verify(headers(token), body))).reason).toMatch(/exp/);
  });
});
