/**
 * The threat model of token verification at the gateway (RFC 8725), principle by principle, each with several hostile
 * inputs. Every refusal must be a 401 with the exact RFC 6750 challenge, UNAUTHENTICATED, no reason in
 * the body, and no subgraph called. The gateway allows anonymous callers here on purpose: an invalid
 * credential must never fall back to anonymous.
 */
import { createHmac, createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { request } from 'node:http';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startStack, type HttpResult, type Stack } from '../../support/stack.ts';
import { createTestKey, startTestIssuer, type TestIssuer, type TestKey } from '../../support/issuer.ts';
import {
  EMPTY_BEARER,
  EXPIRED,
  IN_URL,
  INVALID,
  NOT_BEARER,
  QUERY,
  TOO_LARGE,
  TWO_HEADERS,
  b64url,
  baseOf,
  craft,
  expectAccepted,
  expectNoSubgraphCalled,
  expectRefused,
  nowSeconds,
  rawPost,
  startCountingServer,
  type CountingServer,
  type Refusal,
} from './support.ts';

const AUD = 'shop-api';
/** Every refusal is answered within this, whatever the input. */
const FAST_MS = 200;

let stack: Stack;
let es: TestIssuer; // ES256, typ at+jwt required, tenant mapped from org_id
let rs: TestIssuer; // RS256 only
let attacker: CountingServer; // serves the attacker's JWKS; must never be asked
let rogueEs: TestKey;
let rogueRs: TestKey;

const jwksFetches = () => ({ es: es.requests.jwks, rs: rs.requests.jwks });

async function send(token: string, headers?: Record<string, string>): Promise<{ result: HttpResult; ms: number }> {
  const started = performance.now();
  const result = await stack.query(QUERY, { token, ...(headers ? { headers } : {}) });
  return { result, ms: performance.now() - started };
}

/** A payload that would be accepted if it were properly signed by `issuer`. */
function goodClaims(issuer: TestIssuer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return { iss: issuer.issuer, aud: AUD, sub: 'mallory', iat: now, exp: now + 300, scope: 'products:read', ...extra };
}

/** Signs any payload object (including own `__proto__` keys) with a real key. */
async function signRaw(payload: Record<string, unknown>, key: TestKey, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
}

/** Refused, fast, without any key set fetch. */
async function expectRefusedWithoutFetch(token: string, refusal: Refusal = INVALID, headers?: Record<string, string>): Promise<void> {
  const before = jwksFetches();
  const { result, ms } = await send(token, headers);
  expectRefused(stack, result, refusal);
  expect(jwksFetches()).toEqual(before);
  expect(ms).toBeLessThan(FAST_MS);
}

beforeAll(async () => {
  [es, rs, rogueEs, rogueRs] = await Promise.all([
    startTestIssuer({ alg: 'ES256' }),
    startTestIssuer({ alg: 'RS256' }),
    createTestKey('ES256', 'rogue-es'),
    createTestKey('RS256', 'rogue-rs'),
  ]);
  attacker = await startCountingServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [rogueEs.publicJwk, rogueRs.publicJwk] }));
  });
  stack = await startStack({
    auth: {
      anonymous: true,
      jwt: [
        { issuer: es.issuer, jwks: es.jwksUrl, audience: [AUD], typ: 'at+jwt', clockTolerance: '30s', maxLifetime: '1h', claims: { tenant: 'org_id' } },
        { issuer: rs.issuer, jwks: rs.jwksUrl, audience: [AUD], algorithms: ['RS256'], clockTolerance: '30s', maxLifetime: '1h' },
      ],
    },
  });
  // Warm both key sets, so a fetch counted later is one a hostile token caused.
  for (const issuer of [es, rs]) {
    const { result } = await send(await issuer.sign({ sub: 'warm-up' }));
    expect(result.status).toBe(200);
  }
  expect(jwksFetches()).toEqual({ es: 1, rs: 1 });
});

afterAll(async () => {
  await stack?.close();
  await Promise.all([es?.close(), rs?.close(), attacker?.close()]);
});

beforeEach(() => stack.resetReceived());

describe('control: the tests can fail', () => {
  it.each([
    ['ES256 issuer', () => es.sign({ sub: 'alice' })],
    ['RS256 issuer', () => rs.sign({ sub: 'alice' })],
    ['lower-case scheme name (RFC 7235: case-insensitive)', () => es.sign({ sub: 'alice' })],
  ])('accepts a properly signed token: %s', async (name, make) => {
    const token = await make();
    const result = name.startsWith('lower')
      ? await stack.query(QUERY, { headers: { authorization: `bearer ${token}` } })
      : (await send(token)).result;
    expectAccepted(stack, result, 'alice');
    expect(stack.subgraphs.products.received).toHaveLength(1);
  });

  it('a request without any credential is anonymous here (anonymous: true), so refusals below are not that', async () => {
    const result = await stack.query(QUERY);
    expect(result.status).toBe(200);
    expect(stack.subgraphs.products.received[0]?.identity?.claims.amr).toEqual(['anonymous']);
  });
});

describe('only configured algorithms: alg none is refused', () => {
  const spellings = ['none', 'None', 'NONE', 'nOnE'];
  const signatures = [
    ['no signature part', ''],
    ['a junk signature', 'c2lnbmF0dXJl'],
  ] as const;
  it.each(spellings.flatMap((alg) => signatures.map(([what, signature]) => [alg, what, signature] as const)))(
    'alg %s with %s',
    async (alg, _what, signature) => {
      await expectRefusedWithoutFetch(craft({ alg, typ: 'at+jwt', kid: es.keys[0]!.kid }, goodClaims(es), signature));
    },
  );

  it.each(spellings)('alg %s carrying the signature of a real token', async (alg) => {
    const real = await es.sign();
    const [, payload, signature] = real.split('.');
    await expectRefusedWithoutFetch(`${b64url({ alg, typ: 'at+jwt', kid: es.keys[0]!.kid })}.${payload}.${signature}`);
  });

  it('alg none without typ or kid, for the RS256 issuer', async () => {
    await expectRefusedWithoutFetch(craft({ alg: 'none' }, goodClaims(rs)));
  });

  it.each(['ES384', 'PS256', 'RS512', 'EdDSA'])('an asymmetric algorithm not on the issuer allowlist (%s claimed)', async (alg) => {
    const token = craft({ alg, typ: 'at+jwt', kid: rs.keys[0]!.kid }, goodClaims(rs), b64url(randomBytes(64)));
    await expectRefusedWithoutFetch(token);
  });
});

describe('no HMAC with the public key as secret (algorithm confusion)', () => {
  type Material = [string, (issuer: TestIssuer) => Buffer | string];
  const spki = (issuer: TestIssuer) => createPublicKey({ key: issuer.keys[0]!.publicJwk as JsonWebKey, format: 'jwk' });
  const materials: Material[] = [
    ['the JWK JSON', (issuer) => JSON.stringify(issuer.keys[0]!.publicJwk)],
    ['the bare JWK JSON (no kid/alg/use)', (issuer) => {
      const { kid: _kid, alg: _alg, use: _use, ...bare } = issuer.keys[0]!.publicJwk;
      return JSON.stringify(bare);
    }],
    ['the SPKI PEM', (issuer) => spki(issuer).export({ type: 'spki', format: 'pem' }) as string],
    ['the SPKI PEM without trailing newline', (issuer) => (spki(issuer).export({ type: 'spki', format: 'pem' }) as string).trim()],
    ['the SPKI DER', (issuer) => spki(issuer).export({ type: 'spki', format: 'der' })],
  ];
  const cases = (['HS256', 'HS384', 'HS512'] as const).flatMap((alg) =>
    (['es', 'rs'] as const).flatMap((which) => materials.map(([what, material]) => [alg, which, what, material] as const)),
  );

  it.each(cases)('%s for the %s issuer, keyed with %s', async (alg, which, _what, material) => {
    const issuer = which === 'es' ? es : rs;
    const signingInput = `${b64url({ alg, typ: 'at+jwt', kid: issuer.keys[0]!.kid })}.${b64url(goodClaims(issuer))}`;
    const signature = createHmac(`sha${alg.slice(2)}`, material(issuer)).update(signingInput).digest('base64url');
    await expectRefusedWithoutFetch(`${signingInput}.${signature}`);
  });

  it('HS256 keyed with the RSA PKCS#1 PEM', async () => {
    const pem = createPublicKey({ key: rs.keys[0]!.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'pkcs1', format: 'pem' });
    const signingInput = `${b64url({ alg: 'HS256', kid: rs.keys[0]!.kid })}.${b64url(goodClaims(rs))}`;
    await expectRefusedWithoutFetch(`${signingInput}.${createHmac('sha256', pem).update(signingInput).digest('base64url')}`);
  });
});

describe('no key or URL named inside the token is used or fetched', () => {
  const spkiB64 = (key: TestKey) => createPublicKey({ key: key.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'der' }).toString('base64');
  type Case = [string, () => Promise<string>];
  const cases: Case[] = [
    ['embedded jwk (attacker kid)', () => signRaw(goodClaims(es), rogueEs, { jwk: rogueEs.publicJwk })],
    ['embedded jwk carrying the real kid', () => signRaw(goodClaims(es), rogueEs, { kid: es.keys[0]!.kid, jwk: { ...rogueEs.publicJwk, kid: es.keys[0]!.kid } })],
    ['embedded jwk, no kid', () => signRaw(goodClaims(es), rogueEs, { kid: undefined, jwk: rogueEs.publicJwk })],
    ['embedded RSA jwk for the RS256 issuer', () => signRaw(goodClaims(rs), rogueRs, { kid: rs.keys[0]!.kid, jwk: rogueRs.publicJwk })],
    ['jku pointing at the attacker (attacker kid)', () => signRaw(goodClaims(es), rogueEs, { jku: `${attacker.url}/jwks` })],
    ['jku pointing at the attacker (real kid)', () => signRaw(goodClaims(es), rogueEs, { kid: es.keys[0]!.kid, jku: `${attacker.url}/jwks` })],
    ['jku for the RS256 issuer', () => signRaw(goodClaims(rs), rogueRs, { kid: rs.keys[0]!.kid, jku: `${attacker.url}/jwks` })],
    ['x5u pointing at the attacker', () => signRaw(goodClaims(es), rogueEs, { kid: es.keys[0]!.kid, x5u: `${attacker.url}/cert.pem` })],
    ['x5c with the attacker key', () => signRaw(goodClaims(es), rogueEs, { kid: es.keys[0]!.kid, x5c: [spkiB64(rogueEs)] })],
    ['x5c, x5u and jku together, no kid', () => signRaw(goodClaims(rs), rogueRs, { kid: undefined, x5c: [spkiB64(rogueRs)], x5u: `${attacker.url}/x`, jku: `${attacker.url}/jwks` })],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const before = jwksFetches();
    const { result, ms } = await send(await make());
    expectRefused(stack, result, INVALID);
    expect(attacker.requests).toBe(0);
    expect(ms).toBeLessThan(FAST_MS);
    // An unknown kid may cost the claimed issuer one refetch per cooldown (30 s default): never more.
    expect(jwksFetches().es - before.es).toBeLessThanOrEqual(1);
    expect(jwksFetches().rs - before.rs).toBeLessThanOrEqual(1);
  });

  it('the attacker server was never contacted, the configured key sets at most once more each', () => {
    expect(attacker.requests).toBe(0);
    expect(es.requests.jwks).toBeLessThanOrEqual(2);
    expect(rs.requests.jwks).toBeLessThanOrEqual(2);
  });
});

describe('iss matches a configured issuer exactly; an unverified iss never causes a fetch', () => {
  const cases: Array<[string, () => Record<string, unknown>]> = [
    ['an unknown issuer', () => ({ iss: 'https://evil.example' })],
    ['an unknown issuer that serves discovery and keys', () => ({ iss: attacker.url })],
    ['the issuer with a trailing slash', () => ({ iss: `${es.issuer}/` })],
    ['the issuer in upper case', () => ({ iss: es.issuer.toUpperCase() })],
    ['the issuer with localhost for 127.0.0.1', () => ({ iss: es.issuer.replace('127.0.0.1', 'localhost') })],
    ['the issuer with surrounding space', () => ({ iss: ` ${es.issuer}` })],
    ['the issuer as an array', () => ({ iss: [es.issuer] })],
    ['iss a number', () => ({ iss: 42 })],
    ['iss null', () => ({ iss: null })],
    ['iss missing', () => ({ iss: undefined })],
  ];
  it.each(cases)('%s', async (_name, claims) => {
    const payload = goodClaims(es, claims());
    if (payload.iss === undefined) delete payload.iss;
    await expectRefusedWithoutFetch(await signRaw(payload, es.keys[0]!));
    expect(attacker.requests).toBe(0);
  });

  it("a token naming issuer B is checked only against B's keys, even when signed by A's key", async () => {
    const before = jwksFetches();
    const { result } = await send(await signRaw(goodClaims(rs), es.keys[0]!, { alg: 'ES256' }));
    expectRefused(stack, result, INVALID);
    // ES256 is not on B's allowlist: refused before any key lookup.
    expect(jwksFetches()).toEqual(before);
    const second = await send(await signRaw(goodClaims(es), rs.keys[0]!));
    expectRefused(stack, second.result, INVALID);
    expect(jwksFetches().rs).toBe(before.rs);
  });
});

describe('aud comes from configuration, never from the request', () => {
  const cases: Array<[string, unknown]> = [
    ['another audience', 'other-api'],
    ['an array without ours', ['other-api', 'billing']],
    ['an empty array', []],
    ['an empty string', ''],
    ['ours in upper case', 'SHOP-API'],
    ['ours with a trailing space', 'shop-api '],
    ['a number', 42],
    ['missing', undefined],
  ];
  it.each(cases)('%s', async (_name, aud) => {
    const payload = goodClaims(es, { aud });
    if (aud === undefined) delete payload.aud;
    await expectRefusedWithoutFetch(await signRaw(payload, es.keys[0]!));
  });

  it('the gateway host as aud, with Host and X-Forwarded-* naming it', async () => {
    const host = new URL(baseOf(stack)).host;
    for (const aud of [host, baseOf(stack), `${baseOf(stack)}/graphql`]) {
      await expectRefusedWithoutFetch(await signRaw(goodClaims(es, { aud }), es.keys[0]!), INVALID, {
        'x-forwarded-host': host,
        'x-forwarded-proto': 'http',
        forwarded: `host=${host}`,
      });
    }
  });
});

describe('exp is required; exp, nbf and iat are honoured with the configured 30 s tolerance; lifetime is bounded', () => {
  const now = nowSeconds();
  const cases: Array<[string, () => Record<string, unknown>, Refusal]> = [
    ['exp missing', () => ({ exp: undefined }), INVALID],
    ['exp null', () => ({ exp: null }), INVALID],
    ['exp a string', () => ({ exp: String(now + 300) }), INVALID],
    ['exp expired 45 s ago (beyond the tolerance)', () => ({ iat: nowSeconds() - 600, exp: nowSeconds() - 45 }), EXPIRED],
    ['exp expired an hour ago', () => ({ iat: nowSeconds() - 4000, exp: nowSeconds() - 3600 }), EXPIRED],
    ['exp 0', () => ({ iat: undefined, exp: 0 }), EXPIRED],
    ['nbf 2 minutes in the future', () => ({ nbf: nowSeconds() + 120 }), INVALID],
    ['nbf a day in the future', () => ({ nbf: nowSeconds() + 86_400, exp: nowSeconds() + 86_700 }), INVALID],
    ['nbf a string', () => ({ nbf: String(now) }), INVALID],
    ['iat 2 minutes in the future', () => ({ iat: nowSeconds() + 120 }), INVALID],
    ['iat a day in the future', () => ({ iat: nowSeconds() + 86_400 }), INVALID],
    ['iat a string', () => ({ iat: String(now) }), INVALID],
    ['lifetime 2 h (maxLifetime 1 h)', () => ({ iat: nowSeconds(), exp: nowSeconds() + 7_200 }), INVALID],
    ['lifetime 2 h without iat', () => ({ iat: undefined, exp: nowSeconds() + 7_200 }), INVALID],
    ['issued a day ago, expiring soon', () => ({ iat: nowSeconds() - 86_400, exp: nowSeconds() + 60 }), INVALID],
    ['exp ten years away', () => ({ exp: nowSeconds() + 315_360_000 }), INVALID],
  ];
  it.each(cases)('%s', async (_name, claims, refusal) => {
    const payload = goodClaims(es, claims());
    for (const name of ['exp', 'iat', 'nbf']) if (payload[name] === undefined) delete payload[name];
    await expectRefusedWithoutFetch(await signRaw(payload, es.keys[0]!), refusal);
  });

  it.each([
    ['nbf 10 s in the future', () => ({ nbf: nowSeconds() + 10 })],
    ['iat 10 s in the future', () => ({ iat: nowSeconds() + 10 })],
    ['lifetime just under 1 h', () => ({ iat: nowSeconds(), exp: nowSeconds() + 3_590 })],
  ])('control, within tolerance and policy: %s is accepted', async (_name, claims) => {
    const { result } = await send(await signRaw(goodClaims(es, claims()), es.keys[0]!));
    expectAccepted(stack, result, 'mallory');
  });

  // exp has no tolerance (clockTolerance covers nbf and iat): identity tokens never outlive the credential.
  it.each([
    ['expired 1 s ago', 1],
    ['expired 10 s ago (inside clockTolerance, which does not apply to exp)', 10],
  ])('a token %s is refused as expired, without a fetch', async (_name, ago) => {
    await expectRefusedWithoutFetch(await signRaw(goodClaims(es, { iat: nowSeconds() - 300, exp: nowSeconds() - ago }), es.keys[0]!), EXPIRED);
  });

  // The "expired" hint (extensions.reason token_expired) is for a token the gateway would otherwise accept:
  // an expired token whose signature does not verify is simply invalid, so the hint reveals nothing.
  it('an expired token with a broken signature is invalid, not expired', async () => {
    const expired = await signRaw(goodClaims(es, { iat: nowSeconds() - 600, exp: nowSeconds() - 60 }), es.keys[0]!);
    const [header, payload, signature] = expired.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    await expectRefusedWithoutFetch(`${header}.${payload}.${flipped}`, INVALID);
  });

  it('control: a token expiring in 3 s is answered with data, its identity tokens ending with it', async () => {
    const exp = nowSeconds() + 3;
    const { result } = await send(await signRaw(goodClaims(es, { iat: nowSeconds() - 60, exp }), es.keys[0]!));
    expectAccepted(stack, result, 'mallory');
    expect(stack.subgraphs.products.received.at(-1)?.identity?.claims.exp).toBe(exp);
  });
});

describe('typ is checked where configured (at+jwt, RFC 9068)', () => {
  it.each([
    ['JWT', 'JWT'],
    ['jwt', 'jwt'],
    ['missing', undefined],
    ['an ID token type', 'id_token+jwt'],
    ["the gateway's own identity token type", 'frontdesk-identity.v1+jwt'],
    ['at+jwt with a suffix', 'at+jwt2'],
    ['a number', 1],
  ])('typ %s is refused', async (_name, typ) => {
    await expectRefusedWithoutFetch(await signRaw(goodClaims(es), es.keys[0]!, { typ }));
  });

  it('control: typ application/at+jwt (RFC 7515 §4.1.9 allows the prefix) is accepted', async () => {
    const { result } = await send(await signRaw(goodClaims(es), es.keys[0]!, { typ: 'application/at+jwt' }));
    expectAccepted(stack, result, 'mallory');
  });

  it("a captured identity token (the gateway's own JWS to a subgraph) is not an access token", async () => {
    await send(await es.sign({ sub: 'victim' }));
    const captured = stack.subgraphs.products.received[0]?.identity?.token;
    expect(captured).toEqual(expect.any(String));
    stack.resetReceived();
    await expectRefusedWithoutFetch(captured as string);
  });
});

describe('claims are typed before use', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['sub a number', { sub: 42 }],
    ['sub empty', { sub: '' }],
    ['sub null', { sub: null }],
    ['sub an array', { sub: ['alice'] }],
    ['sub an object', { sub: { id: 'alice' } }],
    ['sub missing', { sub: undefined }],
    ['sub of 256 characters', { sub: 'x'.repeat(256) }],
    ['sub of 4 000 characters', { sub: 'x'.repeat(4_000) }],
    ['scope an object', { scope: { 'products:read': true } }],
    ['scope a number', { scope: 42 }],
    ['scope a boolean', { scope: true }],
    ['scope an array with a number', { scope: ['products:read', 1] }],
    ['scp an object (second scope claim)', { scope: undefined, scp: { a: 1 } }],
    ['roles with a number', { roles: ['admin', 1] }],
    ['roles with null', { roles: [null] }],
    ['roles with an object', { roles: [{ name: 'admin' }] }],
    ['roles an object', { roles: { admin: true } }],
    ['roles with 300 items', { roles: Array.from({ length: 300 }, (_, i) => `r${i}`) }],
    ['tenant (org_id) a number', { org_id: 42 }],
    ['tenant (org_id) empty', { org_id: '' }],
    ['tenant (org_id) an object', { org_id: { id: 'acme' } }],
  ];
  it.each(cases)('%s', async (_name, claims) => {
    const payload = goodClaims(es, claims);
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete payload[name];
    await expectRefusedWithoutFetch(await signRaw(payload, es.keys[0]!));
  });

  it('sub of 10 KB is refused before any parsing (over maxTokenBytes)', async () => {
    await expectRefusedWithoutFetch(await signRaw(goodClaims(es, { sub: 'x'.repeat(10_240) }), es.keys[0]!), TOO_LARGE);
  });

  it('scopes are split on single spaces and matched exactly, and travel as arrays', async () => {
    const { result } = await send(await signRaw(goodClaims(es, { scope: ' products:read  reviews:write ', roles: 'a b' }), es.keys[0]!));
    expectAccepted(stack, result, 'mallory');
    const claims = stack.subgraphs.products.received[0]!.identity!.claims;
    expect(claims.scope).toEqual(['products:read', 'reviews:write']);
    expect(claims.roles).toEqual(['a', 'b']);
  });

  it('a scope or role holding other whitespace or a control character is refused, not split (issue 11, hole 2)', async () => {
    for (const claims of [{ scope: 'products:read reviews:write\tinventory:read' }, { scope: ['products:read inventory:read'] }, { roles: ['a\u2028b'] }, { roles: 'a b\u0000' }]) {
      await expectRefusedWithoutFetch(await signRaw(goodClaims(es, claims), es.keys[0]!));
    }
  });
});

describe('__proto__ and constructor claims change nothing', () => {
  // JSON.parse makes __proto__ an own property, as a token decoder does; an object literal would not.
  const hostile = (json: string) => JSON.parse(json) as Record<string, unknown>;
  const polluters = [
    ['__proto__ with roles, tenant and a marker', '{"__proto__": {"polluted": "yes", "roles": ["admin"], "org_id": "acme", "scope": "admin:all"}}'],
    ['constructor.prototype', '{"constructor": {"prototype": {"polluted": "yes", "roles": ["admin"]}}}'],
    ['prototype and hasOwnProperty', '{"prototype": {"polluted": "yes"}, "hasOwnProperty": "x", "toString": 1}'],
  ] as const;

  it.each(polluters)('%s: accepted with exactly its own claims, nothing inherited or polluted', async (_name, json) => {
    const payload = { ...goodClaims(es, { scope: 'products:read' }), ...hostile(json) };
    const token = await signRaw(payload, es.keys[0]!);
    // The hostile members really are own members of the signed payload.
    const signed = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as object;
    for (const name of Object.keys(hostile(json))) expect(Object.hasOwn(signed, name)).toBe(true);
    const { result } = await send(token);
    expectAccepted(stack, result, 'mallory');
    const claims = stack.subgraphs.products.received[0]!.identity!.claims;
    expect(claims.roles).toEqual([]);
    expect(claims.scope).toEqual(['products:read']);
    expect(claims).not.toHaveProperty('tenant');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).roles).toBeUndefined();
  });

  it('a subject only under __proto__ is no subject', async () => {
    const payload = { ...goodClaims(es), ...hostile('{"__proto__": {"sub": "admin"}}') };
    delete payload.sub;
    await expectRefusedWithoutFetch(await signRaw(payload, es.keys[0]!));
    expect(({} as Record<string, unknown>).sub).toBeUndefined();
  });
});

describe('malformed tokens of any shape: 401, fast, no key fetch', () => {
  const header = () => b64url({ alg: 'ES256', typ: 'at+jwt', kid: es.keys[0]!.kid });
  const payload = () => b64url(goodClaims(es));
  const cases: Array<[string, () => Promise<string> | string]> = [
    ['random base64url bytes, no dots', () => randomBytes(96).toString('base64url')],
    ['random base64url segments', () => [48, 120, 64].map((n) => randomBytes(n).toString('base64url')).join('.')],
    ['a word', () => 'not-a-jwt'],
    ['two segments', () => `${header()}.${payload()}`],
    ['two segments and a trailing dot', () => `${header()}.${payload()}.`],
    ['four segments (a real token plus one)', async () => `${await es.sign()}.c2ln`],
    ['five segments, JWE-shaped', () => `${b64url({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: es.keys[0]!.kid })}.${b64url(randomBytes(256))}.${b64url(randomBytes(12))}.${b64url(randomBytes(64))}.${b64url(randomBytes(16))}`],
    ['five segments, dir JWE', () => `${b64url({ alg: 'dir', enc: 'A128CBC-HS256' })}..${b64url(randomBytes(16))}.${b64url(randomBytes(32))}.${b64url(randomBytes(16))}`],
    ['only dots', () => '..'],
    ['header not JSON', () => `${b64url('hello')}.${payload()}.c2ln`],
    ['header a JSON array', () => `${b64url(['ES256'])}.${payload()}.c2ln`],
    ['header JSON null', () => `${b64url('null')}.${payload()}.c2ln`],
    ['payload not JSON', () => `${header()}.${b64url('{"iss":')}.c2ln`],
    ['payload a JSON array', () => `${header()}.${b64url([1, 2])}.c2ln`],
    ['payload a JSON string', () => `${header()}.${b64url('"x"')}.c2ln`],
    ['empty payload', () => `${header()}..c2ln`],
    ['base64 + and / in a segment', async () => (await es.sign()).replace(/-/g, '+').replace(/_/g, '/').replace(/\.([A-Za-z0-9]+)/, '.+/$1')],
    ['padding after the signature', async () => `${await es.sign()}==`],
    ['padding inside', async () => (await es.sign()).replace('.', '==.')],
    ['a valid token with its signature truncated', async () => (await es.sign()).slice(0, -10)],
    ['a valid token with a flipped signature bit', async () => {
      const token = await es.sign();
      return `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`;
    }],
    ['a valid token with another payload', async () => {
      const [h, , s] = (await es.sign()).split('.');
      return `${h}.${b64url(goodClaims(es, { sub: 'admin' }))}.${s}`;
    }],
  ];
  it.each(cases)('%s', async (_name, make) => {
    await expectRefusedWithoutFetch(await make());
  });

  it.each([
    ['an exclamation mark', 'abc!.def.ghi'],
    ['a percent-encoded dot', 'abc%2Edef%2Eghi'],
    ['a comma (two tokens joined)', 'abc.def.ghi,jkl.mno.pqr'],
    ['a quote', 'abc"def.ghi.jkl'],
    ['a space inside', 'abc.def ghi.jkl'],
    ['a backslash', 'abc\\def.ghi.jkl'],
    ['non-ASCII latin-1', 'abc\u00e9.def.ghi'],
  ])('characters outside b64token: %s', async (_name, token) => {
    await expectRefusedWithoutFetch(token);
  });

  it.each([
    ['8 KiB + 1 (over maxTokenBytes)', 8_193],
    ['15 KB', 15_000],
  ])('oversized, %s: refused before any crypto', async (_name, size) => {
    const token = `${header()}.${'A'.repeat(size - header().length - 10)}.c2lnbmF0`;
    expect(token.length).toBe(size);
    await expectRefusedWithoutFetch(token, TOO_LARGE);
  });

  it('oversized, 100 KB: refused fast, never 5xx, no key fetch, no subgraph', async () => {
    const token = `${header()}.${randomBytes(75_000).toString('base64url')}.c2ln`;
    const before = jwksFetches();
    const started = performance.now();
    const result = await rawPost(baseOf(stack), '/graphql', ['authorization', `Bearer ${token}`]);
    expect(performance.now() - started).toBeLessThan(FAST_MS);
    // Node's HTTP parser stops at 16 KiB of headers, before the gateway's auth sees the request: the
    // server's clientError handler answers 431 (no challenge: no credential was ever read).
    expect(result.status).toBe(431);
    expect(result.body).toEqual({ errors: [{ message: 'Request headers too large', extensions: { code: 'REQUEST_HEADER_FIELDS_TOO_LARGE' } }] });
    expect(jwksFetches()).toEqual(before);
    expectNoSubgraphCalled(stack);
  });
});

describe('ambiguous requests are refused', () => {
  it.each([
    ['the same valid token twice', async () => {
      const token = await es.sign();
      return ['authorization', `Bearer ${token}`, 'authorization', `Bearer ${token}`];
    }],
    ['two different valid tokens', async () => ['Authorization', `Bearer ${await es.sign({ sub: 'a' })}`, 'Authorization', `Bearer ${await rs.sign({ sub: 'b' })}`]],
    ['different spellings of the header name', async () => ['Authorization', `Bearer ${await es.sign()}`, 'AUTHORIZATION', `Bearer ${await es.sign()}`]],
    ['a valid token and a Basic credential', async () => ['authorization', `Bearer ${await es.sign()}`, 'authorization', 'Basic dXNlcjpwYXNz']],
    ['a valid token and an empty header', async () => ['authorization', `Bearer ${await es.sign()}`, 'authorization', '']],
  ])('two Authorization headers: %s', async (_name, make) => {
    const result = await rawPost(baseOf(stack), '/graphql', await make());
    expectRefused(stack, result, TWO_HEADERS);
  });

  it('two Authorization headers sent with setHeader(name, [a, b])', async () => {
    const token = await es.sign();
    const body = JSON.stringify(QUERY);
    const status = await new Promise<{ status: number; challenge: unknown }>((resolve, reject) => {
      const req = request(`${baseOf(stack)}/graphql`, { method: 'POST' });
      req.setHeader('content-type', 'application/json');
      req.setHeader('authorization', [`Bearer ${token}`, `Bearer ${token}`]);
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toEqual({ status: 401, challenge: `Bearer realm="frontdesk", error="invalid_request", error_description="${TWO_HEADERS.description}"` });
    expectNoSubgraphCalled(stack);
  });

  it('one header holding two comma-joined Bearer credentials', async () => {
    const result = await stack.query(QUERY, { headers: { authorization: `Bearer ${await es.sign()}, Bearer ${await es.sign()}` } });
    expectRefused(stack, result, INVALID);
  });

  it.each([
    ['only in the URL', false, (token: string) => `?access_token=${token}`],
    ['in the URL and in the header', true, (token: string) => `?access_token=${token}`],
    ['in the URL among other parameters', false, (token: string) => `?a=1&access_token=${token}&b=2`],
    ['an empty access_token parameter next to a header', true, () => '?access_token='],
  ])('a token %s', async (_name, inHeader, search) => {
    const token = await es.sign();
    const result = await rawPost(baseOf(stack), `/graphql${search(token)}`, inHeader ? ['authorization', `Bearer ${token}`] : []);
    expectRefused(stack, result, IN_URL);
  });
});

describe('only the Bearer scheme', () => {
  it.each([
    ['Basic', 'Basic dXNlcjpwYXNz', NOT_BEARER],
    ['Digest', 'Digest username="alice", realm="frontdesk", nonce="x", uri="/graphql", response="y"', NOT_BEARER],
    ['Bearerxyz (no space)', 'Bearerxyz', NOT_BEARER],
    ['Bearer glued to a token', 'BearereyJhbGciOiJub25lIn0.e30.', NOT_BEARER],
    ['Token', 'Token abc.def.ghi', NOT_BEARER],
    ['DPoP (not supported)', 'DPoP abc.def.ghi', NOT_BEARER],
    ['Bearer with nothing', 'Bearer', EMPTY_BEARER],
    ['a bare token, no scheme', 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln', NOT_BEARER],
  ])('%s', async (_name, value, refusal) => {
    const before = jwksFetches();
    const result = await stack.query(QUERY, { headers: { authorization: value } });
    expectRefused(stack, result, refusal);
    expect(jwksFetches()).toEqual(before);
  });

  it.each([
    ['Bearer and spaces only', ['authorization', 'Bearer    '], EMPTY_BEARER],
    ['Bearer with a tab-separated token', ['authorization', 'Bearer\tabc.def.ghi'], NOT_BEARER],
  ])('%s (raw header)', async (_name, headers, refusal) => {
    const result = await rawPost(baseOf(stack), '/graphql', headers);
    expectRefused(stack, result, refusal);
  });
});

describe('the reason goes to the log with the request id, never to the client', () => {
  it('logs jose’s code for alg none and the failed claim for a wrong audience', async () => {
    const before = stack.logs.length;
    await send(craft({ alg: 'none', typ: 'at+jwt' }, goodClaims(es)));
    await send(await signRaw(goodClaims(es, { aud: 'other-api' }), es.keys[0]!));
    const refusals = stack.logs.slice(before).filter((entry) => entry.msg === 'authentication refused');
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatchObject({ code: 'UNAUTHENTICATED', requestId: expect.any(String), reason: expect.stringContaining('ERR_JOSE_ALG_NOT_ALLOWED') });
    expect(refusals[1]).toMatchObject({ reason: expect.stringMatching(/ERR_JWT_CLAIM_VALIDATION_FAILED.*aud/) });
  });
});

afterAll(() => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
