/**
 * The gateway against a real identity provider: `oidc-provider` in a child process, issuing RFC 9068 JWT
 * access tokens by client credentials with resource indicators. The gateway consumes it through the
 * documented config only: OIDC discovery (no `jwks` key) or an explicit jwks URL. Covers acceptance,
 * claim mapping into the identity token the subgraphs get, and key rotation without a restart.
 */
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIENCE, OTHER_AUDIENCE, startOidcProvider, type DemoClientId, type OidcProviderProcess } from '../../support/oidc-provider/client.ts';
import { startStack, type HttpResult, type Stack } from '../../support/stack.ts';
import { INVALID, QUERY, expectAccepted, expectRefused, sleep, waitUntil } from './support.ts';

let idp: OidcProviderProcess;
const stacks: Stack[] = [];

async function stackFor(entry: Record<string, unknown>, auth: Record<string, unknown> = {}): Promise<Stack> {
  const stack = await startStack({
    auth: { anonymous: true, ...auth, jwt: [{ issuer: idp.issuer, audience: [AUDIENCE], algorithms: ['RS256', 'ES256'], typ: 'at+jwt', ...entry }] },
  });
  stacks.push(stack);
  return stack;
}

beforeAll(async () => {
  idp = await startOidcProvider();
});

afterAll(async () => {
  await Promise.all(stacks.map((stack) => stack.close()));
  await idp?.stop();
});

describe('tokens issued by a real oidc-provider', () => {
  let discovered: Stack;
  let explicit: Stack;

  beforeAll(async () => {
    await idp.resetStats();
    // No `jwks` key: the gateway finds jwks_uri through /.well-known/openid-configuration.
    discovered = await stackFor({ claims: { tenant: 'org_id' } });
    explicit = await stackFor({ jwks: idp.jwksUri });
  });
  beforeEach(() => {
    discovered.resetReceived();
    explicit.resetReceived();
  });

  it('via OIDC discovery: accepted, and the subgraph gets an identity token with the mapped claims', async () => {
    const token = await idp.token('alice-client');
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    const result = await discovered.query(QUERY, { token });
    expectAccepted(discovered, result, 'alice-client');
    expect(discovered.subgraphs.products.received).toHaveLength(1);
    const identity = discovered.subgraphs.products.received[0]!.identity!;
    expect(identity.claims).toMatchObject({
      iss: discovered.identityIssuer,
      aud: 'products',
      sub: 'alice-client',
      scope: ['products:read', 'inventory:read', 'reviews:write'],
      roles: ['admin'],
      tenant: 'acme',
      client_id: 'alice-client',
      amr: ['jwt'],
      orig_iss: idp.issuer,
    });
    expect(identity.header.typ).toBe('frontdesk-identity.v1+jwt');
    // One discovery document and one key set for the whole stack, and nothing from the explicit one yet.
    expect(await idp.stats()).toEqual({ discovery_requests: 1, jwks_requests: 1 });
  });

  it.each<[DemoClientId, string | undefined, { roles: string[]; tenant: string; scope: string[] }]>([
    ['bob-client', undefined, { roles: ['customer'], tenant: 'acme', scope: ['products:read', 'inventory:read', 'reviews:write'] }],
    ['carol-client', 'products:read', { roles: ['customer'], tenant: 'globex', scope: ['products:read'] }],
    ['alice-client', 'openid reviews:write', { roles: ['admin'], tenant: 'acme', scope: ['reviews:write'] }],
  ])('claim mapping for %s (scope requested: %s)', async (client, scope, expected) => {
    const token = await idp.token(client, scope === undefined ? {} : { scope });
    expectAccepted(discovered, await discovered.query(QUERY, { token }), client);
    expect(discovered.subgraphs.products.received[0]!.identity!.claims).toMatchObject({ sub: client, ...expected, orig_iss: idp.issuer });
  });

  it('mapped scopes drive field authorization in the subgraph (costPrice needs inventory:read)', async () => {
    const query = { query: '{ topProducts(first: 1) { upc costPrice } }' };
    const allowed = await discovered.query(query, { token: await idp.token('bob-client', { scope: 'products:read inventory:read' }) });
    expect(allowed.body.errors).toBeUndefined();
    expect((allowed.body.data?.topProducts as Array<{ costPrice: unknown }>)[0]!.costPrice).toEqual(expect.any(Number));

    const denied = await discovered.query(query, { token: await idp.token('bob-client', { scope: 'products:read' }) });
    expect(denied.status).toBe(200);
    expect((denied.body.data?.topProducts as Array<{ costPrice: unknown }>)[0]!.costPrice).toBeNull();
    expect(denied.body.errors?.[0]).toMatchObject({ path: ['topProducts', 0, 'costPrice'], extensions: { code: 'FORBIDDEN' } });
  });

  it('ES256 access tokens are accepted too (both algorithms configured)', async () => {
    await idp.configure({ accessTokenAlg: 'ES256' });
    try {
      const token = await idp.token('carol-client');
      expect(decodeProtectedHeader(token).alg).toBe('ES256');
      expectAccepted(discovered, await discovered.query(QUERY, { token }), 'carol-client');
    } finally {
      await idp.configure({ accessTokenAlg: 'RS256' });
    }
  });

  it('a validly signed token for another resource (audience) is refused', async () => {
    const token = await idp.token('alice-client', { resource: OTHER_AUDIENCE });
    expectRefused(discovered, await discovered.query(QUERY, { token }), INVALID);
    expectRefused(explicit, await explicit.query(QUERY, { token }), INVALID);
  });

  it('a token from a provider whose algorithm is not allowlisted is refused', async () => {
    const rsOnly = await stackFor({ algorithms: ['RS256'] });
    await idp.configure({ accessTokenAlg: 'ES256' });
    try {
      expectRefused(rsOnly, await rsOnly.query(QUERY, { token: await idp.token('alice-client') }), INVALID);
    } finally {
      await idp.configure({ accessTokenAlg: 'RS256' });
    }
  });

  it('via an explicit jwks URL: accepted without any discovery request; no tenant unless mapped', async () => {
    const before = await idp.stats();
    const token = await idp.token('alice-client');
    expectAccepted(explicit, await explicit.query(QUERY, { token }), 'alice-client');
    const claims = explicit.subgraphs.products.received[0]!.identity!.claims;
    expect(claims).toMatchObject({ sub: 'alice-client', roles: ['admin'], scope: ['products:read', 'inventory:read', 'reviews:write'], amr: ['jwt'], orig_iss: idp.issuer });
    expect(claims).not.toHaveProperty('tenant');
    const after = await idp.stats();
    expect(after.discovery_requests).toBe(before.discovery_requests);
    // At most the one key set fetch (none if an earlier test already warmed this stack).
    expect(after.jwks_requests - before.jwks_requests).toBeLessThanOrEqual(1);
    expect(explicit.authenticator.jwt.keySets.get(idp.issuer)?.current()?.keys.length).toBeGreaterThan(0);
  });
});

describe('key rotation at the provider, without restarting the gateway', () => {
  let stack: Stack;
  let url: string;

  /** Sends `token` until it is refused (bounded); returns the refusal and how long it took. */
  async function untilRefused(token: string, boundMs: number): Promise<{ result: HttpResult; ms: number; accepted: number }> {
    const started = performance.now();
    let last: HttpResult | undefined;
    let accepted = 0;
    await waitUntil(async () => {
      stack.resetReceived();
      last = await stack.query(QUERY, { token });
      if (last.status === 200) accepted++;
      return last.status !== 200;
    }, boundMs, 40);
    return { result: last!, ms: performance.now() - started, accepted };
  }

  beforeAll(async () => {
    stack = await stackFor({ jwksCooldown: '100ms', jwksMaxAge: '200ms' }, { cache: { ttl: '200ms' } });
    url = stack.url;
  });
  beforeEach(() => stack.resetReceived());

  it('keepOld false: new-key tokens are accepted at once; removed-key tokens are refused after the cache TTL', async () => {
    const oldToken = await idp.token('alice-client');
    expectAccepted(stack, await stack.query(QUERY, { token: oldToken }), 'alice-client');
    const oldKid = decodeProtectedHeader(oldToken).kid;

    await idp.resetStats();
    const newKid = await idp.rotate({ keepOld: false });
    expect(newKid).not.toBe(oldKid);
    const newToken = await idp.token('bob-client');
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    await sleep(120); // the unknown-kid cooldown (100 ms) since the gateway's last fetch

    stack.resetReceived();
    expectAccepted(stack, await stack.query(QUERY, { token: newToken }), 'bob-client');
    expect((await idp.stats()).jwks_requests).toBe(1); // the unknown kid caused exactly one refetch
    expect(stack.url).toBe(url); // same gateway, never restarted

    const { result, ms } = await untilRefused(oldToken, 3_000);
    expectRefused(stack, result, INVALID);
    expect(ms).toBeLessThan(3_000);
    // And it stays refused.
    stack.resetReceived();
    expectRefused(stack, await stack.query(QUERY, { token: oldToken }), INVALID);
  });

  it('a removed key is noticed through the key set max age alone (no new-kid token seen)', async () => {
    const current = await idp.token('carol-client');
    expectAccepted(stack, await stack.query(QUERY, { token: current }), 'carol-client');
    await idp.rotate({ keepOld: false });
    // Nothing signed with the new key is sent: only the max age (200 ms) and the cache TTL (200 ms) let the
    // gateway learn that `current`'s key is gone. Stale keys refresh in the background, so a request or two
    // right after the max age may still pass.
    const { result, ms } = await untilRefused(current, 3_000);
    expectRefused(stack, result, INVALID);
    expect(ms).toBeLessThan(3_000);
  });

  it('keepOld true: tokens signed with the previous and the new key are both accepted, and stay accepted', async () => {
    const previous = await idp.token('alice-client');
    expectAccepted(stack, await stack.query(QUERY, { token: previous }), 'alice-client');
    const newKid = await idp.rotate({ keepOld: true });
    const fresh = await idp.token('bob-client');
    expect(decodeProtectedHeader(fresh).kid).toBe(newKid);
    await sleep(120);
    expectAccepted(stack, await stack.query(QUERY, { token: fresh }), 'bob-client');
    // Past the max age and the cache TTL, several times: the kept key still verifies.
    for (let i = 0; i < 3; i++) {
      await sleep(150);
      stack.resetReceived();
      expectAccepted(stack, await stack.query(QUERY, { token: previous }), 'alice-client');
    }
  });

  it('the provider down after a rotation: the keys the gateway holds keep working', async () => {
    const token = await idp.token('alice-client');
    const spare = await idp.token('bob-client'); // never seen by the gateway: no cached verification
    expectAccepted(stack, await stack.query(QUERY, { token }), 'alice-client');
    await idp.setDown(true);
    try {
      await sleep(250); // past the max age: the background refresh will fail
      stack.resetReceived();
      expectAccepted(stack, await stack.query(QUERY, { token: spare }), 'bob-client');
      stack.resetReceived();
      expectAccepted(stack, await stack.query(QUERY, { token }), 'alice-client');
    } finally {
      await idp.setDown(false);
    }
  });
});
