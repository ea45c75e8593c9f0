/**
 * Cookie sessions shared by two gateway instances through one Redis (docs/fleet.md "Shared sessions"),
 * against the real oidc-provider: a session signed in through A is served by B, and when its access token
 * is due for a refresh while both instances serve it at once, the provider sees exactly one refresh
 * (refresh tokens rotate: a second one would be refused and end the session).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/browser.ts';
import { startInstance } from '../../support/fleet.ts';
import { AUDIENCE, startOidcProvider, type OidcProviderProcess } from '../../support/oidc-provider/client.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { signIn, type Jar } from '../../support/sign-in.ts';
import type { Stack } from '../../support/stack.ts';

const APP = 'http://127.0.0.1:1';
const BFF = { id: 'frontdesk-bff', secret: 'bff-secret-for-tests' };
const asApp = (stack: Stack, jar: Jar) => stack.query({ query: '{ me { username } }' }, { headers: { cookie: jar.header(), origin: APP, 'x-frontdesk-csrf': '1' } });

describe('sessions shared through Redis', () => {
  let redis: TestRedis;
  let idp: OidcProviderProcess;
  let a: Stack;
  let b: Stack;

  beforeAll(async () => {
    const port = await freePort();
    const gateway = `http://127.0.0.1:${port}`;
    redis = await startRedis();
    idp = await startOidcProvider({
      clients: [{ client_id: BFF.id, client_secret: BFF.secret, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [`${gateway}/auth/callback`] }],
    });
    const options = (listenPort: number) => ({
      auth: { anonymous: false, jwt: [{ issuer: idp.issuer, audience: [AUDIENCE], principalNamespace: 'shop', typ: 'at+jwt' }] },
      config: {
        listen: { host: '127.0.0.1', port: listenPort },
        cors: { origins: [APP], credentials: true },
        sessions: { issuer: idp.issuer, clientId: BFF.id, clientSecret: BFF.secret, redirectUri: `${gateway}/auth/callback`, appOrigins: [APP], resource: AUDIENCE, scopes: ['openid', 'offline_access', 'profile', 'products:read'] },
      },
    });
    [a, b] = await Promise.all([startInstance(redis.url, options(port)), startInstance(redis.url, options(0))]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([redis?.stop(), idp?.stop()]);
  });

  it('a refresh due while both instances serve the session is done once, and every request is answered', async () => {
    await idp.configure({ accessTokenTTLSeconds: 4 }); // refreshed after half its lifetime: 2 s
    const jar = await signIn(a.gateway.url, `${APP}/`);
    expect((await asApp(b, jar)).body).toEqual({ data: { me: { username: 'bob' } } });
    await idp.resetStats();
    for (let round = 0; round < 2; round++) {
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      const answers = await Promise.all([a, b, a, b, a, b].map((stack) => asApp(stack, jar)));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    }
    expect(await idp.grants()).toMatchObject({ refresh_token: { u2: 2 }, refresh_token_refused: {} });
  });
});
