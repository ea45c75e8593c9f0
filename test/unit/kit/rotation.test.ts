/**
 * Gateway signing-key rotation as a subgraph sees it: the kit fetches the gateway's JWKS over HTTP and
 * follows a rotation without a restart — a new kid is fetched once, the retiring key keeps verifying while
 * published, and a removed key stops verifying once the cached set is refreshed. With the kit's defaults
 * (key-set.ts: cooldown 30 s, minInterval 5 s, 2 fetches per cooldown) a key rotated in right after the
 * subgraph's fetch verifies within 5 s of its first use, and a flood of random kids costs at most 2
 * fetches per cooldown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentityMinter } from '../../../gateway/identity/mint.ts';
import { ANONYMOUS, type Principal } from '../../../gateway/auth/principal.ts';
import { createIdentityVerifier, IdentityError } from '../../../subgraphs/kit/index.ts';
import { startTestIssuer, type TestIssuer, type TestKey } from '../../support/issuer.ts';

const request = { query: '{ topProducts { upc } }', operationName: null, variables: {} };
const user: Principal = { ...ANONYMOUS, id: 'jwt:https%3A%2F%2Fidp:u1', subject: 'u1', method: 'jwt', issuer: 'https://idp', scopes: ['products:read'] };

describe('identity key rotation, seen from a subgraph', () => {
  let jwks: TestIssuer; // stands in for the gateway's /.well-known/jwks.json
  beforeAll(async () => {
    jwks = await startTestIssuer({ alg: 'EdDSA' });
  });
  afterAll(async () => {
    await jwks?.close();
  });

  const mintWith = (key: TestKey) =>
    createIdentityMinter({ issuer: 'https://gateway.test', key: { kid: key.kid, alg: 'EdDSA', privateKey: key.privateKey }, ttlMs: 60_000 })(user, 'products', request);

  it('follows a rotation: new kid fetched once, old key valid while published, removed key refused after refresh', async () => {
    const verifier = createIdentityVerifier({
      subgraph: 'products',
      issuer: 'https://gateway.test',
      jwks: jwks.jwksUrl,
      keySet: { cooldownMs: 200, maxAgeMs: 300 },
    });
    const verify = async (token: string) => verifier.verify({ 'frontdesk-identity': token }, request);
    const oldKey = jwks.keys[0] as TestKey;
    expect((await verify(await mintWith(oldKey))).subject).toBe('u1');
    expect(jwks.requests.jwks).toBe(1);

    // The gateway restarts with a new key first and the old one still listed.
    await new Promise((resolve) => setTimeout(resolve, 250)); // past the cooldown
    const newKey = await jwks.rotate(true);
    expect((await verify(await mintWith(newKey))).subject).toBe('u1');
    expect(jwks.requests.jwks).toBe(2);
    expect((await verify(await mintWith(oldKey))).subject).toBe('u1'); // tokens in flight stay valid
    expect(jwks.requests.jwks).toBe(2);

    // Once its tokens have expired, the old key is removed from the JWKS.
    await jwks.rotate(false); // a third key; both earlier ones leave the set
    await new Promise((resolve) => setTimeout(resolve, 350)); // past maxAge: the next use refreshes in the background
    const stale = await mintWith(oldKey);
    await verify(stale).catch(() => undefined); // triggers the background refresh
    const deadline = Date.now() + 3_000;
    let refused: unknown;
    while (!refused && Date.now() < deadline) {
      refused = await verify(await mintWith(oldKey)).then(() => undefined, (error: unknown) => error);
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(refused).toBeInstanceOf(IdentityError);
    expect((refused as IdentityError).code).toBe('UNAUTHENTICATED');
  });

  it('a burst of 50 unknown kids costs at most one JWKS fetch', async () => {
    const verifier = createIdentityVerifier({ subgraph: 'products', issuer: 'https://gateway.test', jwks: jwks.jwksUrl, keySet: { cooldownMs: 60_000 } });
    const signing = jwks.keys[0] as TestKey;
    await verifier.verify({ 'frontdesk-identity': await mintWith(signing) }, request);
    const before = jwks.requests.jwks;
    const forged = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => mintWith({ ...signing, kid: `random-${i}` })),
    );
    const results = await Promise.allSettled(forged.map((token) => verifier.verify({ 'frontdesk-identity': token }, request)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(jwks.requests.jwks - before).toBeLessThanOrEqual(1);
  });
  it('defaults: a key rotated in right after the fetch verifies within 5 s of its first use', async () => {
    let time = Date.now();
    const verifier = createIdentityVerifier({ subgraph: 'products', issuer: 'https://gateway.test', jwks: jwks.jwksUrl, keySet: { now: () => time } });
    const verify = async (token: string) => verifier.verify({ 'frontdesk-identity': token }, request);
    await verify(await mintWith(jwks.keys[0] as TestKey));
    const before = jwks.requests.jwks;
    const rotated = await mintWith(await jwks.rotate(true));
    const start = time;
    time = start + 100; // its first use
    await expect(verify(rotated)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', rule: 'kid' });
    time = start + 4_999;
    await expect(verify(rotated)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', rule: 'kid' });
    expect(jwks.requests.jwks).toBe(before);
    time = start + 5_000;
    expect((await verify(rotated)).subject).toBe('u1');
    expect(jwks.requests.jwks).toBe(before + 1);
  });

  it('defaults: 40 random kids spread over a cooldown cost at most 2 JWKS fetches', async () => {
    let time = Date.now();
    const verifier = createIdentityVerifier({ subgraph: 'products', issuer: 'https://gateway.test', jwks: jwks.jwksUrl, keySet: { now: () => time } });
    const signing = jwks.keys[0] as TestKey;
    await verifier.verify({ 'frontdesk-identity': await mintWith(signing) }, request);
    const before = jwks.requests.jwks;
    const start = time;
    for (let i = 0; i < 40; i++) {
      time = start + 5_000 + i * 600; // 5 s … 28.4 s after the fetch
      const forged = await mintWith({ ...signing, kid: `random-${i}` });
      await expect(verifier.verify({ 'frontdesk-identity': forged }, request)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', rule: 'kid' });
    }
    expect(jwks.requests.jwks - before).toBe(2);
  });
});
