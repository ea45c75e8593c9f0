// Smoke test of the oidc-provider child-process harness itself: if this fails,
// the gateway's auth integration tests cannot be trusted either.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  OTHER_AUDIENCE,
  startOidcProvider,
  type OidcProviderProcess,
} from '../support/oidc-provider/client.ts';

describe('oidc-provider harness', () => {
  let idp: OidcProviderProcess;

  beforeAll(async () => {
    idp = await startOidcProvider();
  });

  afterAll(async () => {
    await idp?.stop();
  });

  const verify = (token: string) =>
    // A fresh remote JWKS each time: jose caches keys per instance, and the
    // point of several checks below is what the IdP publishes *now*.
    jwtVerify(token, createRemoteJWKSet(new URL(idp.jwksUri)), {
      issuer: idp.issuer,
      audience: idp.audience,
      typ: 'at+jwt',
    });

  const publishedKids = async () => {
    const res = await fetch(idp.jwksUri);
    const { keys } = (await res.json()) as { keys: { kid: string }[] };
    return keys.map((k) => k.kid);
  };

  it('exposes a loopback issuer and discovery-derived jwks_uri', () => {
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(idp.jwksUri).toBe(`${idp.issuer}/jwks`);
    expect(idp.audience).toBe(AUDIENCE);
  });

  it('issues RFC 9068 JWT access tokens with roles, org_id and scope', async () => {
    const token = await idp.token('alice-client', { scope: 'openid products:read inventory:read' });
    const { payload, protectedHeader } = await verify(token);

    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(payload).toMatchObject({
      iss: idp.issuer,
      aud: AUDIENCE,
      sub: 'alice-client',
      client_id: 'alice-client',
      roles: ['admin'],
      org_id: 'acme',
      // openid is not a scope of the resource server, so it is filtered out.
      scope: 'products:read inventory:read',
    });

    const bob = await verify(await idp.token('bob-client'));
    expect(bob.payload).toMatchObject({
      sub: 'bob-client',
      roles: ['customer'],
      org_id: 'acme',
      scope: 'products:read inventory:read reviews:write',
    });
  });

  it('can mint tokens for another audience and with ES256', async () => {
    const other = await idp.token('bob-client', { resource: OTHER_AUDIENCE });
    await expect(verify(other)).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });

    await idp.configure({ accessTokenAlg: 'ES256' });
    try {
      const es = await verify(await idp.token('alice-client'));
      expect(es.protectedHeader.alg).toBe('ES256');
    } finally {
      await idp.configure({ accessTokenAlg: 'RS256' });
    }
  });

  it('rotates keys without restarting; keepOld false unpublishes old keys', async () => {
    const oldToken = await idp.token('alice-client');
    const oldKid = decodeProtectedHeader(oldToken).kid!;
    expect(await publishedKids()).toContain(oldKid);

    const newKid = await idp.rotate({ keepOld: false });
    expect(newKid).not.toBe(oldKid);

    const newToken = await idp.token('alice-client');
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    await expect(verify(newToken)).resolves.toBeDefined();

    const kids = await publishedKids();
    expect(kids).toContain(newKid);
    expect(kids).not.toContain(oldKid);
    await expect(verify(oldToken)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });

    // keepOld true: both the previous and the new generation are published.
    const newestKid = await idp.rotate({ keepOld: true });
    expect(await publishedKids()).toEqual(expect.arrayContaining([newKid, newestKid]));
    expect(decodeProtectedHeader(await idp.token('bob-client')).kid).toBe(newestKid);
  });

  it('counts jwks and discovery requests', async () => {
    await idp.resetStats();
    expect(await idp.stats()).toEqual({ jwks_requests: 0, discovery_requests: 0 });

    await verify(await idp.token('alice-client'));
    await fetch(idp.jwksUri);
    await fetch(`${idp.issuer}/.well-known/openid-configuration`);

    expect(await idp.stats()).toEqual({ jwks_requests: 2, discovery_requests: 1 });
  });

  it('simulates an unreachable and a slow IdP', async () => {
    await idp.setDown(true);
    try {
      await expect(fetch(idp.jwksUri)).rejects.toThrow();
    } finally {
      await idp.setDown(false);
    }
    expect((await fetch(idp.jwksUri)).status).toBe(200);

    await idp.setDown(false, 300);
    try {
      const started = performance.now();
      expect((await fetch(idp.jwksUri)).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      await idp.setDown(false);
    }
  });
});
