/**
 * OpenID Connect Back-Channel Logout 1.0 and shared sessions (docs/fleet.md): two gateway instances share
 * one Redis; a person signs in through A and the session works on B (any instance serves any user);
 * signing out at the real oidc-provider makes it post a logout token to A, and the session is refused on
 * both. Then forged logout tokens (signed by a key the test holds, which the gateway trusts for that
 * issuer, on two instances sharing Redis): every deviation from §2.6 — a replay on another instance too —
 * is a 400 `invalid_request` that revokes nothing.
 */
import { generateKeyPair, exportJWK, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/browser.ts';
import { metricValue, millisUntil, startInstance } from '../../support/fleet.ts';
import { AUDIENCE, startOidcProvider, type OidcProviderProcess } from '../../support/oidc-provider/client.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { signIn, signOutAtProvider, type Jar } from '../../support/sign-in.ts';
import type { Stack } from '../../support/stack.ts';

const APP = 'http://127.0.0.1:1';
const CORS = { origins: [APP], credentials: true };
const BFF = { id: 'frontdesk-bff', secret: 'bff-secret-for-tests' };
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const ME = { query: '{ me { username } }' };

const sessions = (issuer: string, gateway: string) => ({
  issuer,
  clientId: BFF.id,
  clientSecret: BFF.secret,
  redirectUri: `${gateway}/auth/callback`,
  appOrigins: [APP],
  resource: AUDIENCE,
  scopes: ['openid', 'offline_access', 'profile', 'products:read'],
});
const asApp = (stack: Stack, jar: Jar) => stack.query(ME, { headers: { cookie: jar.header(), origin: APP, 'x-frontdesk-csrf': '1' } });

describe('back-channel logout from a real provider, two instances sharing sessions', () => {
  let redis: TestRedis;
  let idp: OidcProviderProcess;
  let a: Stack;
  let b: Stack;

  beforeAll(async () => {
    const port = await freePort();
    const gateway = `http://127.0.0.1:${port}`;
    redis = await startRedis();
    idp = await startOidcProvider({
      clients: [
        {
          client_id: BFF.id,
          client_secret: BFF.secret,
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: [`${gateway}/auth/callback`],
          backchannel_logout_uri: `${gateway}/auth/backchannel-logout`,
          backchannel_logout_session_required: true,
        },
      ],
    });
    const options = (listenPort: number) => ({
      auth: { anonymous: false, jwt: [{ issuer: idp.issuer, audience: [AUDIENCE], principalNamespace: 'shop', typ: 'at+jwt' }] },
      config: { listen: { host: '127.0.0.1', port: listenPort }, cors: CORS, sessions: sessions(idp.issuer, gateway) },
    });
    [a, b] = await Promise.all([startInstance(redis.url, options(port)), startInstance(redis.url, options(0))]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([redis?.stop(), idp?.stop()]);
  });

  it('a session made through A works on B; after a logout at the provider it is refused on both', async () => {
    const jar = await signIn(a.gateway.url, `${APP}/`);
    expect((await asApp(b, jar)).body).toEqual({ data: { me: { username: 'bob' } } });
    expect((await asApp(a, jar)).body).toEqual({ data: { me: { username: 'bob' } } });
    const other = await signIn(a.gateway.url, `${APP}/`, 'carol'); // another person, another provider session

    const started = performance.now();
    await signOutAtProvider(jar, idp.issuer, BFF.id);
    const elapsed = performance.now() - started + (await millisUntil(async () => (await asApp(b, jar)).status === 401, 2_000));
    console.info(`back-channel logout enforced on B ${elapsed.toFixed(1)} ms after the sign-out began`);
    expect(a.logs.some((line) => line.msg === 'back-channel logout' && line.kind === 'sid')).toBe(true);

    const onB = await asApp(b, jar);
    expect({ status: onB.status, body: onB.body }).toEqual({
      status: 401,
      body: { errors: [{ message: 'The session has ended; sign in again', extensions: { code: 'UNAUTHENTICATED', reason: 'session_ended' } }] },
    });
    expect((await asApp(a, jar)).status).toBe(401);
    const who = await fetch(`${b.gateway.url}/auth/session`, { headers: { cookie: jar.header(), origin: APP } });
    expect(await who.json()).toEqual({ signedIn: false });
    expect((await asApp(b, other)).body).toEqual({ data: { me: { username: 'carol' } } }); // only that session ended
  });
});

describe('logout tokens that must not log anyone out', () => {
  const ISSUER = 'https://idp.backchannel.test';
  let key: CryptoKey;
  let stranger: CryptoKey;
  let stack: Stack;
  let other: Stack;
  let redis: TestRedis;
  let endpoint: string;

  const sign = (payload: JWTPayload, options: { typ?: string | null; with?: CryptoKey } = {}) => {
    const header = { alg: 'RS256', kid: 'op-key', ...(options.typ === null ? {} : { typ: options.typ ?? 'logout+jwt' }) };
    return new SignJWT(payload).setProtectedHeader(header).sign(options.with ?? key);
  };
  const valid = (extra: JWTPayload = {}): JWTPayload => ({
    iss: ISSUER,
    aud: BFF.id,
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 120,
    jti: crypto.randomUUID(),
    events: { [EVENT]: {} },
    sub: 'u2',
    ...extra,
  });
  const post = (body: string, contentType = 'application/x-www-form-urlencoded') => fetch(endpoint, { method: 'POST', headers: { 'content-type': contentType }, body });
  const logout = (token: string) => post(new URLSearchParams({ logout_token: token }).toString());
  const entries = () => metricValue(stack, 'frontdesk_revocation_list_entries');

  beforeAll(async () => {
    ({ privateKey: key } = await generateKeyPair('RS256', { extractable: true }));
    ({ privateKey: stranger } = await generateKeyPair('RS256', { extractable: true }));
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = await exportJWK(key);
    const jwks = join(mkdtempSync(join(tmpdir(), 'frontdesk-bcl-')), 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...publicJwk, kid: 'op-key', alg: 'RS256', use: 'sig' }] }));
    redis = await startRedis();
    const options = {
      auth: { anonymous: false, jwt: [{ issuer: ISSUER, jwks, audience: ['https://api.test/'], principalNamespace: 'shop' }] },
      config: { cors: CORS, sessions: sessions(ISSUER, 'http://127.0.0.1:4000') },
    };
    [stack, other] = await Promise.all([startInstance(redis.url, options), startInstance(redis.url, options)]);
    endpoint = `${stack.gateway.url}/auth/backchannel-logout`;
  });
  afterAll(async () => {
    await Promise.all([stack?.close(), other?.close()]);
    await redis?.stop();
  });

  const BAD = { error: 'invalid_request', error_description: 'Bad request', errors: [{ message: 'Bad request', extensions: { code: 'BAD_REQUEST' } }] };
  const expectRefused = async (response: Response) => {
    expect({ status: response.status, cacheControl: response.headers.get('cache-control'), body: await response.json() }).toEqual({ status: 400, cacheControl: 'no-store', body: BAD });
  };

  it('a valid one with sid is 200 (no-store) and revokes that provider session; replayed, it is 400', async () => {
    const token = await sign(valid({ sid: 'op-session-1', sub: undefined }));
    const first = await logout(token);
    expect({ status: first.status, cacheControl: first.headers.get('cache-control') }).toEqual({ status: 200, cacheControl: 'no-store' });
    expect(await entries()).toBe(1);
    await expectRefused(await logout(token));
    expect(await entries()).toBe(1);
  });

  it('replayed to another instance of the fleet, it is 400 there too (the jti is remembered in Redis)', async () => {
    const token = await sign(valid({ sid: 'op-session-2', sub: undefined }));
    expect((await logout(token)).status).toBe(200);
    await expectRefused(await fetch(`${other.gateway.url}/auth/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }) }));
    await millisUntil(async () => (await metricValue(other, 'frontdesk_revocation_list_entries')) === 2, 1_000); // the first one's revocation reached it
  });

  it.each<[string, () => Promise<string>]>([
    ['signed by another key', () => sign(valid(), { with: stranger })],
    ['without events', () => sign(valid({ events: undefined }))],
    ['with an events claim lacking the back-channel logout member', () => sign(valid({ events: { 'http://schemas.openid.net/event/other': {} } }))],
    ['whose back-channel logout event is not an object', () => sign(valid({ events: { [EVENT]: 'yes' } }))],
    ['with a nonce', () => sign(valid({ nonce: 'n-0S6_WzA2Mj' }))],
    ['for another audience', () => sign(valid({ aud: 'another-client' }))],
    ['from another issuer', () => sign(valid({ iss: 'https://idp.other.test' }))],
    ['without a jti', () => sign(valid({ jti: undefined }))],
    ['without iat', () => sign(valid({ iat: undefined }))],
    ['expired', () => sign(valid({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 480 }))],
    ['naming neither sub nor sid', () => sign(valid({ sub: undefined }))],
    ['typed as an access token', () => sign(valid(), { typ: 'at+jwt' })],
    ['unsigned (alg none)', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(valid())).toString('base64url')}.`],
    ['not a JWT at all', async () => 'not-a-jwt'],
  ])('%s: 400 invalid_request, nothing revoked', async (_name, make) => {
    const before = await entries();
    await expectRefused(await logout(await make()));
    expect(await entries()).toBe(before);
  });

  it('a form without exactly one logout_token, or not a form, is 400; GET is 405', async () => {
    const token = await sign(valid());
    await expectRefused(await post(''));
    await expectRefused(await post(`logout_token=${token}&logout_token=${token}`));
    await expectRefused(await post(JSON.stringify({ logout_token: token }), 'application/json'));
    expect((await fetch(endpoint)).status).toBe(405);
    expect(await entries()).toBe(2);
  });

  it('a valid one with only sub revokes what that subject was issued until now (a bearer token too)', async () => {
    const access = await new SignJWT({ scope: 'products:read' })
      .setProtectedHeader({ alg: 'RS256', kid: 'op-key' })
      .setIssuer(ISSUER)
      .setAudience('https://api.test/')
      .setSubject('u2')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
    expect((await stack.query({ query: '{ __typename }' }, { token: access })).status).toBe(200);
    expect((await logout(await sign(valid({ sub: 'u2' })))).status).toBe(200);
    expect((await stack.query({ query: '{ __typename }' }, { token: access })).status).toBe(401);
  });
});
