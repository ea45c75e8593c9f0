/**
 * The verified-token cache (README "Decisions": "Verification results may be cached, bounded in size and never past
 * the token's expiry"): a repeated token costs no signature verification, concurrent identical tokens
 * share one, and a cached result is never used past exp, nor once `holds` says it no longer stands. Counted with `authenticator.stats`, not timed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator, type AuthRequest } from '../../../gateway/auth/authenticate.ts';
import { createVerificationCache } from '../../../gateway/auth/verification-cache.ts';
import { parseConfig } from '../../../gateway/config/load.ts';
import type { AuthConfig } from '../../../gateway/config/types.ts';
import { AuthError } from '../../../gateway/errors.ts';
import { createLogger } from '../../../gateway/log.ts';
import { createTestKey, startTestIssuer, type TestIssuer, type TestKey } from '../../support/issuer.ts';
import { SUPERGRAPH, startStack, type Stack } from '../../support/stack.ts';

const ISSUER = 'https://idp.cache.test';
const AUD = 'shop-api';
let key: TestKey;
let jwksFile: string;

beforeAll(async () => {
  key = await createTestKey('ES256');
  jwksFile = join(mkdtempSync(join(tmpdir(), 'frontdesk-cache-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [key.publicJwk] }));
});

/** The auth section exactly as gateway.yaml would give it, through the real config loader. */
function authConfig(auth: Record<string, unknown> = {}, issuer: Record<string, unknown> = {}): AuthConfig {
  return parseConfig(
    {
      supergraph: SUPERGRAPH,
      identity: { issuer: 'https://gateway.test', keys: [{ file: '/nonexistent/identity.json' }], devKeys: true },
      auth: { anonymous: true, ...auth, jwt: [{ issuer: ISSUER, jwks: jwksFile, audience: [AUD], clockTolerance: '0s', ...issuer }] },
    },
    { env: {} },
  ).auth;
}

/** A fake clock, in milliseconds; starts at the real time so signed tokens are current. */
function clock() {
  let current = Date.now();
  return { now: () => current, set: (ms: number) => void (current = ms), advance: (ms: number) => void (current += ms) };
}

function authenticator(config: AuthConfig, now?: () => number): Authenticator {
  return createAuthenticator(config, { log: createLogger({ level: 'silent' }), ...(now ? { now } : {}) });
}

/** A token valid from `nowMs` for `lifetimeS` seconds, each one distinct (jti). */
function sign(nowMs: number, lifetimeS = 300, claims: Record<string, unknown> = {}): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUD, sub: 'alice', scope: 'products:read', iat, exp: iat + lifetimeS, jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .sign(key.privateKey);
}

const bearer = (token: string): AuthRequest => ({ rawHeaders: ['Authorization', `Bearer ${token}`], search: '' });

describe('verification cache (createAuthenticator)', () => {
  it('the same valid token sent 10 times costs one signature verification', async () => {
    const auth = authenticator(authConfig());
    const token = await sign(Date.now());
    for (let i = 0; i < 10; i++) {
      const principal = await auth.authenticate(bearer(token));
      expect(principal).toMatchObject({ subject: 'alice', method: 'jwt', scopes: ['products:read'] });
    }
    expect(auth.stats).toEqual({ verifications: 1, cacheHits: 9 });
  });

  it('concurrent identical tokens share one verification', async () => {
    const auth = authenticator(authConfig());
    const token = await sign(Date.now());
    const principals = await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(bearer(token))));
    expect(new Set(principals.map((principal) => principal.subject))).toEqual(new Set(['alice']));
    expect(auth.stats.verifications).toBe(1);
    // And afterwards it is a plain cache hit.
    await auth.authenticate(bearer(token));
    expect(auth.stats.verifications).toBe(1);
  });

  it('concurrent identical invalid tokens share one verification and all fail', async () => {
    const auth = authenticator(authConfig());
    const token = await sign(Date.now(), 300, { aud: 'other-api' });
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => auth.authenticate(bearer(token))));
    expect(outcomes.every((outcome) => outcome.status === 'rejected' && outcome.reason instanceof AuthError)).toBe(true);
    expect(auth.stats.verifications).toBe(1);
  });

  it('distinct tokens are verified separately, even for the same subject', async () => {
    const auth = authenticator(authConfig());
    await auth.authenticate(bearer(await sign(Date.now())));
    await auth.authenticate(bearer(await sign(Date.now())));
    expect(auth.stats).toEqual({ verifications: 2, cacheHits: 0 });
  });

  it('a cached result is never used past exp (cache TTL far longer than the token)', async () => {
    const time = clock();
    const auth = authenticator(authConfig({ cache: { ttl: '1h' } }), time.now);
    const token = await sign(time.now(), 60);
    const exp = (Math.floor(time.now() / 1000) + 60) * 1000;

    await auth.authenticate(bearer(token));
    time.advance(30_000);
    await auth.authenticate(bearer(token));
    expect(auth.stats).toEqual({ verifications: 1, cacheHits: 1 });

    time.set(exp - 1); // the last millisecond the cached result may serve
    await auth.authenticate(bearer(token));
    expect(auth.stats).toEqual({ verifications: 1, cacheHits: 2 });

    time.set(exp + 1);
    await expect(auth.authenticate(bearer(token))).rejects.toMatchObject({ code: 'UNAUTHENTICATED', bearerError: 'invalid_token', description: 'The access token expired' });
    await expect(auth.authenticate(bearer(token))).rejects.toBeInstanceOf(AuthError);
    expect(auth.stats).toEqual({ verifications: 3, cacheHits: 2 });
  });

  it('a cached result ends at exp, and clockTolerance does not stretch it (exp is strict)', async () => {
    const time = clock();
    const auth = authenticator(authConfig({ cache: { ttl: '1h' } }, { clockTolerance: '30s' }), time.now);
    const token = await sign(time.now(), 60);
    await auth.authenticate(bearer(token));
    time.advance(59_000);
    await auth.authenticate(bearer(token));
    expect(auth.stats).toEqual({ verifications: 1, cacheHits: 1 });
    time.advance(11_000); // 10 s past exp, within the 30 s tolerance that applies to nbf and iat only
    await expect(auth.authenticate(bearer(token))).rejects.toMatchObject({ description: 'The access token expired' });
    expect(auth.stats).toEqual({ verifications: 2, cacheHits: 1 });
  });

  it('the cache TTL bounds reuse of a result', async () => {
    const auth = authenticator(authConfig({ cache: { ttl: '100ms' } }));
    const token = await sign(Date.now());
    await auth.authenticate(bearer(token));
    await auth.authenticate(bearer(token));
    expect(auth.stats).toEqual({ verifications: 1, cacheHits: 1 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await auth.authenticate(bearer(token));
    expect(auth.stats).toEqual({ verifications: 2, cacheHits: 1 });
  });

  it('failures are not cached (an unknown kid may be resolved by a key refresh)', async () => {
    const auth = authenticator(authConfig());
    const token = await sign(Date.now(), 300, { aud: 'other-api' });
    await expect(auth.authenticate(bearer(token))).rejects.toBeInstanceOf(AuthError);
    await expect(auth.authenticate(bearer(token))).rejects.toBeInstanceOf(AuthError);
    expect(auth.stats).toEqual({ verifications: 2, cacheHits: 0 });
  });

  it('is bounded: with maxEntries 2 the least recently used token is evicted', async () => {
    const auth = authenticator(authConfig({ cache: { maxEntries: 2 } }));
    const [a, b, c] = await Promise.all([sign(Date.now()), sign(Date.now()), sign(Date.now())]);
    for (const token of [a, b, c]) await auth.authenticate(bearer(token!));
    await auth.authenticate(bearer(c!)); // hit
    await auth.authenticate(bearer(a!)); // evicted: verified again
    expect(auth.stats).toEqual({ verifications: 4, cacheHits: 1 });
  });

  it('maxEntries 0 turns the cache off', async () => {
    const auth = authenticator(authConfig({ cache: { maxEntries: 0 } }));
    const token = await sign(Date.now());
    for (let i = 0; i < 3; i++) await auth.authenticate(bearer(token));
    expect(auth.stats).toEqual({ verifications: 3, cacheHits: 0 });
  });

  it('a refused request (two Authorization headers) never reaches the cache or the verifier', async () => {
    const auth = authenticator(authConfig());
    const token = await sign(Date.now());
    await auth.authenticate(bearer(token));
    await expect(auth.authenticate({ rawHeaders: ['Authorization', `Bearer ${token}`, 'authorization', `Bearer ${token}`], search: '' })).rejects.toMatchObject({ bearerError: 'invalid_request' });
    expect(auth.stats).toEqual({ verifications: 1, cacheHits: 0 });
  });
});

describe('verification cache through the gateway (real HTTP)', () => {
  let issuer: TestIssuer;
  let stack: Stack;
  beforeAll(async () => {
    issuer = await startTestIssuer();
    stack = await startStack({ auth: { anonymous: true, jwt: [{ issuer: issuer.issuer, jwks: issuer.jwksUrl, audience: [AUD] }] } });
  });
  afterAll(async () => {
    await stack?.close();
    await issuer?.close();
  });

  it('a client sending the same token repeatedly pays for one signature verification', async () => {
    const stats = stack.authenticator.stats;
    const before = { ...stats };
    const token = await issuer.sign({ sub: 'repeat' });
    for (let i = 0; i < 5; i++) {
      const result = await stack.query({ query: '{ topProducts(first: 1) { upc } }' }, { token });
      expect(result.status).toBe(200);
      expect(stack.subgraphs.products.received.at(-1)?.identity?.claims.sub).toBe('repeat');
    }
    expect(stats.verifications - before.verifications).toBe(1);
    expect(stats.cacheHits - before.cacheHits).toBe(4);

    // Concurrent first requests with another token: still one verification.
    const other = await issuer.sign({ sub: 'burst' });
    const results = await Promise.all(Array.from({ length: 10 }, () => stack.query({ query: '{ topProducts(first: 1) { upc } }' }, { token: other })));
    expect(results.map((result) => result.status)).toEqual(Array(10).fill(200));
    expect(stats.verifications - before.verifications).toBe(2);
  });
});

describe('createVerificationCache: holds, asked on every hit', () => {
  const verified = (n: number) => ({ n, expiresAtMs: Date.now() + 60_000 });

  it('false drops the entry and verifies again; true (or a promise of true) is a hit', async () => {
    let standing: boolean | Promise<boolean> = true;
    let calls = 0;
    const stats = { verifications: 0, cacheHits: 0 };
    const cached = createVerificationCache({ maxEntries: 10, ttlMs: 60_000, now: Date.now, holds: () => standing }, async () => verified(++calls), stats);
    expect((await cached('t')).n).toBe(1);
    expect((await cached('t')).n).toBe(1);
    standing = Promise.resolve(true);
    expect((await cached('t')).n).toBe(1);
    expect(stats).toEqual({ verifications: 1, cacheHits: 2 });
    standing = false;
    expect((await cached('t')).n).toBe(2);
    standing = Promise.resolve(false);
    expect((await cached('t')).n).toBe(3);
    standing = true;
    expect((await cached('t')).n).toBe(3);
    expect(stats).toEqual({ verifications: 3, cacheHits: 3 });
  });
});
