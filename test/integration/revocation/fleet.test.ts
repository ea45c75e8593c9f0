/**
 * Revocation across a fleet (docs/fleet.md "Revocation"): two gateway instances on port 0 sharing a real
 * Redis, tokens from the real oidc-provider, an API key store. A revocation sent to instance A's admin
 * endpoint is refused by instance B within a second — also for a token B verified (and cached) before;
 * an instance started later refuses it too (the persisted list); with Redis killed, what is known stays
 * enforced, a new revocation applies where it was made and reaches the others once Redis is back.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../gateway/auth/api-keys/manage.ts';
import { AUDIENCE, INTROSPECTION_CLIENT, OPAQUE_AUDIENCE, startOidcProvider, type OidcProviderProcess } from '../../support/oidc-provider/client.ts';
import { metricValue, millisUntil, revokeVia, startInstance } from '../../support/fleet.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import type { Stack } from '../../support/stack.ts';

const QUERY = { query: '{ __typename }' };
const INVALID_TOKEN = 'Bearer realm="frontdesk", error="invalid_token", error_description="The access token is invalid"';

let redis: TestRedis;
let idp: OidcProviderProcess;
let a: Stack;
let b: Stack;
const started: Stack[] = [];
const keyFile = join(mkdtempSync(join(tmpdir(), 'frontdesk-revocation-')), 'api-keys.yaml');

const options = () => ({
  auth: {
    anonymous: false,
    jwt: [{ issuer: idp.issuer, audience: [AUDIENCE], principalNamespace: 'shop', typ: 'at+jwt' }],
    apiKeys: { file: keyFile, principalNamespace: 'partners' },
    // Opaque tokens of the same provider, introspected (RFC 7662); client-credentials tokens name the client as subject.
    introspection: [
      { issuer: idp.issuer, audience: [OPAQUE_AUDIENCE], principalNamespace: 'opaque', claims: { subject: 'client_id' }, clientId: INTROSPECTION_CLIENT.clientId, clientSecret: INTROSPECTION_CLIENT.secret, timeout: '1s' },
    ],
  },
});
const instance = async (redisUrl = redis.url): Promise<Stack> => {
  const stack = await startInstance(redisUrl, options());
  started.push(stack);
  return stack;
};
const bearer = (stack: Stack, token: string) => stack.query(QUERY, { token });
const apiKey = (stack: Stack, key: string) => stack.query(QUERY, { headers: { 'x-api-key': key } });
const refused = async (request: Promise<{ status: number }>) => (await request).status === 401;

/** Revokes through A and measures until B refuses; asserts the second. */
async function expectPropagated(kind: string, id: string, probeB: () => Promise<boolean>): Promise<number> {
  const before = performance.now();
  const revoked = await revokeVia(a, kind, id);
  expect(revoked).toMatchObject({ status: 200, body: { revoked: { kind, id }, shared: true } });
  const elapsed = performance.now() - before + (await millisUntil(probeB, 2_000));
  expect(elapsed).toBeLessThan(1_000);
  return elapsed;
}

beforeAll(async () => {
  writeFileSync(keyFile, 'keys: []\n');
  [redis, idp] = await Promise.all([startRedis(), startOidcProvider()]);
  [a, b] = await Promise.all([instance(), instance()]);
});
afterAll(async () => {
  await Promise.all(started.map((stack) => stack.close()));
  await Promise.all([redis?.stop(), idp?.stop()]);
});

describe('a revocation sent to instance A', () => {
  it('sub: B refuses the subject within 1 s, also a token it verified and cached before; a later sign-in works', async () => {
    const token = await idp.token('bob-client');
    expect((await bearer(b, token)).status).toBe(200);
    expect((await bearer(b, token)).status).toBe(200); // from B's verification cache now
    const hitsBefore = b.authenticator.stats.cacheHits;

    const elapsed = await expectPropagated('sub', 'shop:bob-client', () => refused(bearer(b, token)));
    console.info(`sub revocation enforced on B after ${elapsed.toFixed(1)} ms`);
    const answer = await bearer(b, token);
    expect({ status: answer.status, challenge: answer.headers.get('www-authenticate'), body: answer.body }).toEqual({
      status: 401,
      challenge: INVALID_TOKEN,
      body: { errors: [{ message: 'The access token is invalid', extensions: { code: 'UNAUTHENTICATED' } }] },
    });
    expect(b.authenticator.stats.cacheHits).toBeGreaterThan(hitsBefore); // refused after a cache hit, not a fresh check
    expect((await bearer(a, token)).status).toBe(401);
    expect(b.logs.some((line) => line.msg === 'authentication refused' && line.reason === 'revoked (sub)')).toBe(true);

    // Credentials issued after the revocation (iat is in seconds) are accepted again.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const fresh = await idp.token('bob-client');
    expect((await bearer(b, fresh)).status).toBe(200);
    expect((await bearer(a, fresh)).status).toBe(200);
  });

  it('jti: B refuses that token within 1 s; another token of the same client still works', async () => {
    const token = await idp.token('carol-client');
    const other = await idp.token('carol-client');
    expect((await bearer(b, token)).status).toBe(200);
    const elapsed = await expectPropagated('jti', decodeJwt(token).jti as string, () => refused(bearer(b, token)));
    console.info(`jti revocation enforced on B after ${elapsed.toFixed(1)} ms`);
    expect((await bearer(b, other)).status).toBe(200);
    expect((await bearer(a, token)).status).toBe(401);
  });

  it('sub of an introspected token: B refuses it within 1 s although its introspection answer is cached', async () => {
    const opaque = await idp.token('alice-client', { resource: OPAQUE_AUDIENCE });
    expect((await bearer(b, opaque)).status).toBe(200);
    expect((await bearer(b, opaque)).status).toBe(200);
    const introspections = b.authenticator.introspection!.stats.verifications;
    const elapsed = await expectPropagated('sub', 'opaque:alice-client', () => refused(bearer(b, opaque)));
    console.info(`sub revocation of an introspected token enforced on B after ${elapsed.toFixed(1)} ms`);
    expect(b.authenticator.introspection!.stats.verifications).toBe(introspections); // answered from the cache, refused all the same
    expect((await bearer(b, await idp.token('alice-client'))).status).toBe(200); // the JWT namespace `shop` is another principal
  });

  it('api-key: B refuses the key within 1 s with the answer any invalid key gets', async () => {
    const { key, record } = createApiKey(keyFile, { name: 'fleet-bot', scopes: ['products:read'] });
    await millisUntil(async () => (await apiKey(b, key)).status === 200, 3_000); // B re-reads the key file
    const elapsed = await expectPropagated('api-key', record.id, () => refused(apiKey(b, key)));
    console.info(`api-key revocation enforced on B after ${elapsed.toFixed(1)} ms`);
    const answer = await apiKey(b, key);
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 401, body: { errors: [{ message: 'The API key is invalid', extensions: { code: 'UNAUTHENTICATED' } }] } });
  });

  it('is refused by an instance started afterwards (the persisted list)', async () => {
    const token = await idp.token('alice-client');
    expect((await bearer(a, token)).status).toBe(200);
    expect((await revokeVia(a, 'jti', decodeJwt(token).jti as string)).status).toBe(200);
    const late = await instance();
    expect((await bearer(late, token)).status).toBe(401);
    expect(await metricValue(late, 'frontdesk_revocation_list_entries')).toBeGreaterThanOrEqual(4);
    expect(await metricValue(late, 'frontdesk_revocations_applied_total{kind="jti"}')).toBeGreaterThanOrEqual(2);
  });
});

describe('the admin endpoint', () => {
  it('refuses a missing or wrong token (401) and a malformed revocation (400), and is not on the public listener', async () => {
    const wrong = await revokeVia(a, 'sub', 'shop:x', 'not-the-admin-token-0123456789abcdef');
    expect(wrong).toEqual({ status: 401, body: { errors: [{ message: 'Authentication failed', extensions: { code: 'UNAUTHENTICATED' } }] } });
    const malformed = await revokeVia(a, 'user', 'shop:x');
    expect(malformed.status).toBe(400);
    expect((malformed.body.errors as Array<{ extensions: unknown }>)[0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
    const publicAdmin = await fetch(`${a.gateway.url}/admin/revocations`, { method: 'POST', headers: { authorization: 'Bearer admin-token-for-tests-0123456789abcdef', 'content-type': 'application/json' }, body: '{"kind":"sub","id":"shop:x"}' });
    expect(publicAdmin.status).toBe(404);
  });
});

describe('with Redis killed', () => {
  it('keeps enforcing from memory, applies a new revocation where it was made, and spreads it once Redis is back', async () => {
    const known = await idp.token('alice-client');
    await revokeVia(a, 'jti', decodeJwt(known).jti as string);
    await millisUntil(() => refused(bearer(b, known)));
    const later = await idp.token('bob-client');
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // issued after the sub revocation of the first test
    expect((await bearer(b, later)).status).toBe(200);

    await redis.kill();
    const started = performance.now();
    expect((await bearer(b, known)).status).toBe(401); // still refused, from memory
    const revoked = await revokeVia(a, 'jti', decodeJwt(later).jti as string);
    expect(revoked).toMatchObject({ status: 200, body: { shared: false } });
    expect((await bearer(a, later)).status).toBe(401); // applied at once where it was made
    expect((await bearer(b, later)).status).toBe(200); // B cannot hear of it yet
    expect(performance.now() - started).toBeLessThan(2_000); // nothing hung

    await redis.restart(); // empty: the test Redis persists nothing
    await millisUntil(() => refused(bearer(b, later)), 10_000);
    const fresh = await instance();
    expect((await bearer(fresh, later)).status).toBe(401); // written back to the persisted list
    expect((await bearer(fresh, known)).status).toBe(401);
  });
});
