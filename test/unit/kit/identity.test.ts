import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../gateway/auth/principal.ts';
import { createIdentityMinter } from '../../../gateway/identity/mint.ts';
import { IDENTITY_TOKEN_TYPE, requestBinding } from '../../../subgraphs/kit/contract.ts';
import { IdentityError } from '../../../subgraphs/kit/errors.ts';
import { createIdentityVerifier } from '../../../subgraphs/kit/identity.ts';

const issuer = 'https://gateway.test';
const body = { query: '{ users { id } }', operationName: null, variables: {} };
const user: Principal = Object.freeze({
  id: 'jwt:https%3A%2F%2Fidp.test:u1',
  subject: 'u1',
  issuer: 'https://idp.test',
  method: 'jwt',
  scopes: ['a', 'b'],
  roles: ['r'],
  tenant: 't1',
  clientId: 'c1',
  expiresAt: undefined,
});

async function refusal(promise: Promise<unknown>): Promise<IdentityError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IdentityError);
  return error as IdentityError;
}

describe('createIdentityVerifier', () => {
  let jwks: JSONWebKeySet;
  let mint: ReturnType<typeof createIdentityMinter>;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let signingKey: CryptoKey;
  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA');
    signingKey = privateKey;
    rsa = await generateKeyPair('RS256');
    // The key set also holds an RSA key: the kit must still accept only EdDSA and ES256.
    jwks = {
      keys: [
        { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' },
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' },
      ],
    };
    mint = createIdentityMinter({ issuer, key: { kid: 'k1', alg: 'EdDSA', privateKey }, ttlMs: 60_000 });
  });

  it('turns a valid token into the Identity resolvers see', async () => {
    const verifier = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks });
    const identity = await verifier.verify({ 'frontdesk-identity': await mint(user, 'accounts', body) }, body);
    expect(identity).toMatchObject({
      id: 'jwt:https%3A%2F%2Fidp.test:u1',
      subject: 'u1',
      issuer: 'https://idp.test',
      method: 'jwt',
      scopes: ['a', 'b'],
      roles: ['r'],
      tenant: 't1',
      clientId: 'c1',
      authenticated: true,
    });
    expect(Object.isFrozen(identity)).toBe(true);
    expect(identity.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('reads the header from a record, a Fetch Headers or anything with get(), case-insensitively configured', async () => {
    const token = await mint(user, 'accounts', body);
    const verifier = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks, header: 'X-Identity' });
    await verifier.verify({ 'x-identity': token }, body);
    await verifier.verify(new Headers({ 'X-Identity': token }), body);
    await verifier.verify({ get: (name: string) => (name === 'x-identity' ? token : null) }, body);
    // the default header name is not looked at when another is configured
    expect((await refusal(verifier.verify({ 'frontdesk-identity': token }, body))).reason).toMatch(/no x-identity header/);
    // two values (an array, or Headers joining them) are never "the first one"
    expect((await refusal(verifier.verify({ 'x-identity': [token, token] }, body))).code).toBe('UNAUTHENTICATED');
    const twice = new Headers();
    twice.append('x-identity', token);
    twice.append('x-identity', token);
    await refusal(verifier.verify(twice, body));
  });

  it('accepts only EdDSA and ES256, even for a key the JWKS holds', async () => {
    const token = await new SignJWT(
      { sub: 'u1', pid: user.id, scope: [], roles: [], amr: ['jwt'], rbh: requestBinding(body), jti: 'j' },
    )
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa', typ: IDENTITY_TOKEN_TYPE })
      .setIssuer(issuer)
      .setAudience('accounts')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(rsa.privateKey);
    const verifier = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks });
    expect((await refusal(verifier.verify({ 'frontdesk-identity': token }, body))).reason).toMatch(/alg/i);
  });

  describe('contract v1: claims are typed strictly, and nothing of v0 is accepted', () => {
    const now = () => Math.floor(Date.now() / 1000);
    /** A token that differs from what the gateway mints only by `claims` / `header`, signed with the real key. */
    const sign = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
      const payload: Record<string, unknown> = {
        iss: issuer, aud: 'accounts', sub: 'u1', pid: user.id, iat: now(), exp: now() + 60, jti: 'j1',
        scope: ['a', 'b'], roles: ['r'], amr: ['jwt'], orig_iss: 'https://idp.test', rbh: requestBinding(body), ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: IDENTITY_TOKEN_TYPE, ...header }).sign(signingKey);
    };
    const verify = async (token: string) => createIdentityVerifier({ subgraph: 'accounts', issuer, jwks }).verify({ 'frontdesk-identity': token }, body);

    it('control: the helper’s token is accepted, with scopes and roles as arrays and the principal id', async () => {
      expect(await verify(await sign())).toMatchObject({ id: user.id, subject: 'u1', scopes: ['a', 'b'], roles: ['r'], method: 'jwt' });
      expect((await verify(await sign({}, { typ: `application/${IDENTITY_TOKEN_TYPE.toUpperCase()}` }))).subject).toBe('u1');
    });

    it('refuses a v0 token: scope as a space-separated string, amr as a string, or the v0 typ', async () => {
      expect((await refusal(verify(await sign({ scope: 'a b' })))).rule).toBe('claims');
      expect((await refusal(verify(await sign({ scope: '' })))).rule).toBe('claims');
      expect((await refusal(verify(await sign({ amr: 'jwt' })))).rule).toBe('amr');
      expect((await refusal(verify(await sign({}, { typ: 'frontdesk-identity+jwt' })))).rule).toBe('version');
      expect((await refusal(verify(await sign({}, { typ: 'frontdesk-identity.v2+jwt' })))).rule).toBe('version');
    });

    it('refuses an aud array, even one holding this subgraph only', async () => {
      for (const aud of [['accounts'], ['accounts', 'products']]) {
        expect((await refusal(verify(await sign({ aud })))).rule).toBe('aud');
      }
    });

    it('refuses scope and role items holding whitespace or control characters, and ill-typed or unbounded lists', async () => {
      const lists: unknown[] = [
        ['products:read inventory:read'], ['a\tb'], ['a\nb'], ['a\u00a0b'], ['a\u2028b'], ['a\u0000'], ['a\u007f'], ['a\u0085'],
        [''], [1], [null], [['a']], 'a', null, {}, Array.from({ length: 257 }, (_, i) => `s${i}`), ['x'.repeat(257)],
      ];
      for (const list of lists) {
        expect((await refusal(verify(await sign({ scope: list })))).rule, JSON.stringify(list)).toBe('claims');
        expect((await refusal(verify(await sign({ roles: list })))).rule, JSON.stringify(list)).toBe('claims');
      }
      expect((await refusal(verify(await sign({ scope: undefined })))).rule).toBe('claims');
      // the bounds themselves are accepted
      const identity = await verify(await sign({ scope: Array.from({ length: 256 }, (_, i) => `s${i}`), roles: ['x'.repeat(256)] }));
      expect(identity.scopes).toHaveLength(256);
    });

    it('refuses amr that is not exactly one known method', async () => {
      for (const amr of [[], ['jwt', 'mtls'], ['root'], [['jwt']], 'jwt', null]) {
        expect((await refusal(verify(await sign({ amr })))).rule, JSON.stringify(amr)).toBe('amr');
      }
    });

    it('refuses a pid that is not the id of this method and subject, and a principal without one', async () => {
      const pids: unknown[] = [
        undefined, '', 'u1', 'jwt:u1', 'api_key:https%3A%2F%2Fidp.test:u1', 'jwt:https%3A%2F%2Fidp.test:u2',
        'jwt:https://idp.test:u1', 'jwt::u1', 'jwt:%zz:u1', 42, ['jwt:x:u1'],
      ];
      for (const pid of pids) expect((await refusal(verify(await sign({ pid })))).rule, String(pid)).toBe('claims');
      expect((await refusal(verify(await sign({ amr: ['anonymous'], sub: undefined })))).rule).toBe('claims');
      expect((await verify(await sign({ amr: ['anonymous'], sub: undefined, pid: undefined, orig_iss: undefined }))).authenticated).toBe(false);
    });

    it('refuses a lifetime over 10 minutes and an iat in the future', async () => {
      expect((await refusal(verify(await sign({ exp: now() + 601 })))).rule).toBe('lifetime');
      expect((await refusal(verify(await sign({ iat: now() + 30, exp: now() + 60 })))).rule).toBe('iat');
      expect((await refusal(verify(await sign({ iat: now(), exp: now() - 1 })))).rule).toBe('lifetime');
    });
  });

  it('refuses an oversized header before looking for any key', async () => {
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
      const verifier = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks: url });
      const valid = await mint(user, 'accounts', body);
      const huge = `${valid}${'A'.repeat(8_200)}`;
      expect((await refusal(verifier.verify({ 'frontdesk-identity': huge }, body))).reason).toMatch(/too large/);
      expect(fetches).toBe(0);
      // control: a normal token makes the kit fetch the key set once
      await verifier.verify({ 'frontdesk-identity': valid }, body);
      expect(fetches).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('answers AUTH_UNAVAILABLE (not "invalid") when the gateway JWKS cannot be fetched', async () => {
    const server = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
      const verifier = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks: url, keySet: { timeoutMs: 2_000 } });
      const error = await refusal(verifier.verify({ 'frontdesk-identity': await mint(user, 'accounts', body) }, body));
      expect(error.code).toBe('AUTH_UNAVAILABLE');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses at construction without a subgraph name or issuer', () => {
    expect(() => createIdentityVerifier({ subgraph: '', issuer, jwks })).toThrow(/subgraph/);
    expect(() => createIdentityVerifier({ subgraph: 'accounts', issuer: '', jwks })).toThrow(/issuer/);
  });
});
