import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../gateway/auth/principal.ts';
import { createIdentityMinter } from '../../../gateway/identity/mint.ts';
import { IDENTITY_TOKEN_TYPE, requestBinding } from '../../../subgraphs/kit/contract.ts';
import { IdentityError } from '../../../subgraphs/kit/errors.ts';
import { createIdentityVerifier } from '../../../subgraphs/kit/identity.ts';

const issuer = 'https://gateway.test';
const body = { query: '{ users { id } }', operationName: null, variables: {} };
const user: Principal = Object.freeze({
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
  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA');
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
      { sub: 'u1', scope: '', roles: [], amr: 'jwt', rbh: requestBinding(body), jti: 'j' },
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
