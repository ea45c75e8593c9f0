/**
 * Opaque access tokens from a real authorization server: `oidc-provider` in a child process issues them
 * for OPAQUE_AUDIENCE and serves RFC 7662 introspection; the gateway finds `introspection_endpoint` by
 * discovery and authenticates with client_secret_basic or private_key_jwt. Covers acceptance and claim
 * mapping into the identity token, the cache (one introspection per token), a revoked token, a token for
 * another audience, and the IdP going down (503, never anonymous).
 */
import { exportJWK, generateKeyPair } from 'jose';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { INTROSPECTION_CLIENT, INTROSPECTION_JWT_CLIENT_ID, OPAQUE_AUDIENCE, startOidcProvider, type OidcProviderProcess } from '../../support/oidc-provider/client.ts';
import { startStack, type Stack } from '../../support/stack.ts';
import { INVALID, QUERY, expectRefused, expectUnavailable } from './support.ts';

let idp: OidcProviderProcess;
let basic: Stack;
let keyJwt: Stack;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'gateway-introspection';
  const keyFile = join(mkdtempSync(join(tmpdir(), 'frontdesk-introspect-')), 'client-key.json');
  writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'ES256' }));
  idp = await startOidcProvider({ introspectionClientJwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] } });
  const entry = {
    issuer: idp.issuer,
    audience: [OPAQUE_AUDIENCE],
    // client-credentials tokens have no sub: the client is the subject
    claims: { subject: 'client_id', roles: 'roles', tenant: 'org_id' },
  };
  basic = await startStack({
    auth: { anonymous: true, introspection: [{ ...entry, clientId: INTROSPECTION_CLIENT.clientId, clientSecret: INTROSPECTION_CLIENT.secret, timeout: '1s' }] },
  });
  keyJwt = await startStack({
    auth: { anonymous: true, introspection: [{ ...entry, clientId: INTROSPECTION_JWT_CLIENT_ID, clientAuth: 'private_key_jwt', clientKey: keyFile }] },
  });
}, 60_000);

afterAll(async () => {
  await basic?.close();
  await keyJwt?.close();
  await idp?.stop();
});
beforeEach(() => {
  basic.resetReceived();
  keyJwt.resetReceived();
});

describe('opaque tokens from a real oidc-provider', () => {
  it('are opaque (not a JWS) and accepted: amr introspection, claims mapped, one introspection per token', async () => {
    const token = await idp.token('carol-client', { resource: OPAQUE_AUDIENCE, scope: 'products:read' });
    expect(token.split('.')).toHaveLength(1);
    for (let i = 0; i < 3; i++) expect((await basic.query(QUERY, { token })).status).toBe(200);
    expect(basic.subgraphs.products.received[0]?.identity?.claims).toMatchObject({
      amr: ['introspection'],
      sub: 'carol-client',
      pid: `introspection:${encodeURIComponent(idp.issuer)}:carol-client`,
      scope: ['products:read'],
      roles: ['customer'],
      tenant: 'globex',
      client_id: 'carol-client',
      orig_iss: idp.issuer,
    });
    expect(basic.authenticator.introspection?.stats).toEqual({ verifications: 1, cacheHits: 2 });
  });

  it('with private_key_jwt client authentication', async () => {
    const token = await idp.token('alice-client', { resource: OPAQUE_AUDIENCE });
    const result = await keyJwt.query(QUERY, { token });
    expect(result.status).toBe(200);
    expect(keyJwt.subgraphs.products.received[0]?.identity?.claims).toMatchObject({ amr: ['introspection'], sub: 'alice-client', roles: ['admin'] });
  });

  it('a revoked token is inactive: 401', async () => {
    const token = await idp.token('bob-client', { resource: OPAQUE_AUDIENCE });
    await idp.revoke('bob-client', token);
    expectRefused(basic, await basic.query(QUERY, { token }), INVALID);
  });

  it('a made-up opaque token is inactive: 401', async () => {
    expectRefused(basic, await basic.query(QUERY, { token: 'x'.repeat(43) }), INVALID);
  });

  it('the IdP down: 503 AUTH_UNAVAILABLE for a new token, cached tokens keep working', async () => {
    const cached = await idp.token('alice-client', { resource: OPAQUE_AUDIENCE });
    const fresh = await idp.token('alice-client', { resource: OPAQUE_AUDIENCE });
    expect((await basic.query(QUERY, { token: cached })).status).toBe(200);
    await idp.setDown(true);
    try {
      basic.resetReceived();
      expectUnavailable(basic, await basic.query(QUERY, { token: fresh }));
      expect((await basic.query(QUERY, { token: cached })).status).toBe(200);
    } finally {
      await idp.setDown(false);
    }
    expect((await basic.query(QUERY, { token: fresh })).status).toBe(200);
  });
});
