/**
 * Key rotation at an identity provider, end to end through the gateway over real HTTP (issue 15, "the
 * fleet"): a key rotated in right after a fetch is accepted within `jwksMinInterval` (5 s) of its first
 * use, a flood of random `kid`s still costs at most `jwksCooldownFetches` (2) fetches per `jwksCooldown`,
 * and a key removed from the set ends the cached verifications it produced at the next refresh — which
 * happens within `jwksMaxAge`, or sooner when another request's unknown `kid` causes it.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../support/stack.ts';
import { createTestKey, startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { INVALID, QUERY, expectAccepted, expectRefused, sleep } from './support.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/**
 * The gateway's clock, frozen 40 s behind real time and moved only by the test (by 30 s at most), so it
 * never runs ahead of the subgraphs' real clock that checks the identity tokens it mints. Tokens meant to
 * be accepted are issued at the gateway's time (`iat`).
 */
function gatewayClock() {
  let time = Date.now() - 40_000;
  return { now: () => time, advance: (ms: number) => void (time += ms), iat: () => Math.floor(time / 1000) };
}

async function setUp(issuerEntry: Record<string, unknown> = {}, options: { now?: () => number; auth?: Record<string, unknown> } = {}) {
  const idp: TestIssuer = await startTestIssuer({ alg: 'ES256' });
  cleanups.push(() => idp.close());
  const stack: Stack = await startStack({
    auth: { anonymous: true, ...options.auth, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: ['shop-api'], ...issuerEntry }] },
    ...(options.now ? { now: options.now } : {}),
  });
  cleanups.push(() => stack.close());
  return { idp, stack };
}

/** The token is refused as invalid (401), and no subgraph is called for it. */
async function expectRefusedToken(stack: Stack, token: string): Promise<void> {
  stack.resetReceived();
  expectRefused(stack, await stack.query(QUERY, { token }), INVALID);
}

describe('a key rotated in right after a fetch (defaults: jwksCooldown 30s, jwksMinInterval 5s)', () => {
  it('is refused until the last fetch is 5 s old, then accepted: within 5 s of its first use', async () => {
    const clock = gatewayClock();
    const { idp, stack } = await setUp({}, { now: clock.now });
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign({ iat: clock.iat() }) }));
    expect(idp.requests.jwks).toBe(1);

    const fresh = await idp.rotate(true);
    const token = await idp.sign({ sub: 'rotated', iat: clock.iat() }, { key: fresh });
    clock.advance(100); // its first use, 0.1 s after the fetch
    await expectRefusedToken(stack, token);
    clock.advance(4_800);
    await expectRefusedToken(stack, token);
    expect(idp.requests.jwks).toBe(1);
    clock.advance(100); // the fetch is 5 s old: 4.9 s after the first use
    expectAccepted(stack, await stack.query(QUERY, { token }), 'rotated');
    expect(idp.requests.jwks).toBe(2);
  });

  it('40 tokens with random kids cost at most 2 fetches in the cooldown', async () => {
    const clock = gatewayClock();
    const { idp, stack } = await setUp({}, { now: clock.now });
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign({ iat: clock.iat() }) }));
    const rogue = await createTestKey('ES256');
    const tokens = await Promise.all(Array.from({ length: 40 }, () => idp.sign({ sub: 'flood' }, { key: rogue, header: { kid: randomUUID() } })));

    clock.advance(5_000);
    stack.resetReceived();
    const concurrent = await Promise.all(tokens.slice(0, 20).map((token) => stack.query(QUERY, { token })));
    for (const result of concurrent) expectRefused(stack, result, INVALID);
    for (const token of tokens.slice(20)) {
      clock.advance(1_000); // every one past jwksMinInterval of the last fetch at some point; 25 s in all
      await expectRefusedToken(stack, token);
    }
    expect(idp.requests.jwks - 1).toBe(2);
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign({ iat: clock.iat() }) }));
  });
});

describe('a key removed from the set ends the cached verifications it produced, at the next refresh', () => {
  it('after jwksMaxAge: the cached token is refused (401) once the refresh drops its key', async () => {
    const { idp, stack } = await setUp({ jwksMaxAge: '600ms' }, { auth: { cache: { ttl: '1h' } } });
    const token = await idp.sign({ sub: 'cached' });
    expectAccepted(stack, await stack.query(QUERY, { token }), 'cached');
    expectAccepted(stack, await stack.query(QUERY, { token }), 'cached');
    expect(stack.authenticator.stats).toEqual({ verifications: 1, cacheHits: 1 });

    await idp.rotate(false); // the token's key leaves the set
    await sleep(650); // past jwksMaxAge: the next use, even a cache hit, waits for the refresh
    await expectRefusedToken(stack, token);
    expect(idp.requests.jwks).toBe(2);
    expect(stack.authenticator.stats.verifications).toBe(2); // verified again, not answered from the cache
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign({ sub: 'new-key' }) }), 'new-key');
  });

  it('within jwksMaxAge the cached token still stands; a refresh another request causes ends it at once', async () => {
    const { idp, stack } = await setUp({ jwksMinInterval: '100ms' }, { auth: { cache: { ttl: '1h' } } });
    const token = await idp.sign({ sub: 'cached' });
    expectAccepted(stack, await stack.query(QUERY, { token }), 'cached');
    await idp.rotate(false);
    expectAccepted(stack, await stack.query(QUERY, { token }), 'cached'); // no refresh yet: the cache answers
    expect(stack.authenticator.stats).toEqual({ verifications: 1, cacheHits: 1 });

    await sleep(150); // past jwksMinInterval
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign({ sub: 'new-key' }) }), 'new-key'); // its unknown kid refreshes
    expect(idp.requests.jwks).toBe(2);
    await expectRefusedToken(stack, token);
    expect(stack.authenticator.stats.verifications).toBe(3);
  });

  it('a key kept in the set keeps its cached verifications through refreshes', async () => {
    const { idp, stack } = await setUp({ jwksMaxAge: '200ms' }, { auth: { cache: { ttl: '1h' } } });
    const token = await idp.sign({ sub: 'cached' });
    expectAccepted(stack, await stack.query(QUERY, { token }), 'cached');
    await idp.rotate(true); // a new key signs; the old one stays published
    await sleep(250);
    expectAccepted(stack, await stack.query(QUERY, { token }), 'cached');
    expect(idp.requests.jwks).toBe(2);
    expect(stack.authenticator.stats).toEqual({ verifications: 1, cacheHits: 1 });
  });
});
