/** The `cors` and `sessions` keys (gateway/config/table/browser.ts) and their boot checks, through the real loader. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../gateway/config/load.ts';
import type { GatewayConfig } from '../../../gateway/config/types.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'frontdesk-browser-config-'));
const keyFile = join(dir, 'key.json');
writeFileSync(keyFile, '{}');

const IDP = 'http://127.0.0.1:4005';
const APP = 'http://127.0.0.1:4006';
const SESSIONS = { issuer: IDP, clientId: 'bff', clientSecret: 's3cret', redirectUri: 'http://127.0.0.1:4000/auth/callback' };

function load(extra: Record<string, unknown>, nodeEnv?: string): GatewayConfig | string[] {
  const raw = {
    supergraph: SUPERGRAPH,
    auth: { jwt: [{ issuer: IDP, audience: ['shop-api'] }] },
    identity: { issuer: 'https://gw', keys: [{ file: keyFile }] },
    ...extra,
  };
  try {
    return parseConfig(raw, { env: nodeEnv ? { NODE_ENV: nodeEnv } : {} });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}
const problems = (extra: Record<string, unknown>, nodeEnv?: string): string[] => {
  const result = load(extra, nodeEnv);
  return Array.isArray(result) ? result : [];
};

describe('cors', () => {
  it('is off by default, and reads exact origins with the documented defaults', () => {
    expect((load({}) as GatewayConfig).cors).toEqual({
      origins: [],
      credentials: false,
      maxAgeMs: 600_000,
      allowHeaders: ['content-type', 'authorization', 'x-request-id', 'x-frontdesk-csrf', 'apollo-require-preflight', 'traceparent', 'tracestate', 'baggage'],
      exposeHeaders: ['x-request-id', 'www-authenticate', 'retry-after'],
    });
    expect((load({ cors: { origins: ['https://App.example', APP], credentials: true } }) as GatewayConfig).cors.origins).toEqual(['https://app.example', APP]);
  });

  it('refuses * with credentials, * beside other origins, and anything that is not an origin', () => {
    expect(problems({ cors: { origins: ['*'], credentials: true } })).toEqual(['cors.origins: "*" cannot be used with cors.credentials: true; list the exact origins of your apps']);
    expect(problems({ cors: { origins: ['*', APP] } })).toEqual(['cors.origins: "*" already allows every origin; list exact origins or "*" alone']);
    expect(problems({ cors: { origins: ['*'] } })).toEqual([]);
    for (const bad of ['https://app.example/', 'https://app.example/path', 'null', 'app.example', 'https://*.example', 'file://x']) {
      expect(problems({ cors: { origins: [bad] } }), bad).toEqual([expect.stringMatching(/^cors\.origins\[0\]: .* must be an origin/)]);
    }
    // Serialised as browsers send it: no default port.
    expect(problems({ cors: { origins: ['https://app.example:443'] } })).toEqual(['cors.origins: "https://app.example:443" is not an origin as browsers send it; write https://app.example']);
  });
});

describe('sessions', () => {
  const cors = { origins: [APP], credentials: true };

  it('are off without an issuer, and on with a complete client registration', () => {
    expect((load({}) as GatewayConfig).sessions).toBeUndefined();
    const config = load({ cors, sessions: SESSIONS }) as GatewayConfig;
    expect(config.sessions).toMatchObject({ ...SESSIONS, appOrigins: [], scopes: ['openid', 'offline_access'], cookieName: '__Host-frontdesk-session', refreshBeforeMs: 30_000 });
  });

  it('say what is missing', () => {
    expect(problems({ cors, sessions: { clientId: 'bff' } })).toEqual(['sessions.issuer: required when sessions.clientId is set; name the OpenID provider, or remove the sessions section']);
    expect(problems({ cors, sessions: { issuer: IDP } })).toEqual([
      'sessions.clientId: required with sessions.issuer — register the gateway as a confidential client at the provider',
      'sessions.clientSecret: required with sessions.issuer — register the gateway as a confidential client at the provider',
      'sessions.redirectUri: required with sessions.issuer — register the gateway as a confidential client at the provider',
    ]);
  });

  it('need their issuer in auth.jwt, openid, the callback path, and https beyond loopback', () => {
    expect(problems({ cors, sessions: { ...SESSIONS, issuer: 'http://127.0.0.1:9999' } })).toEqual([
      'sessions.issuer: http://127.0.0.1:9999 is not an auth.jwt issuer; add it there (with the audience of its access tokens) so session access tokens are verified like any bearer token',
    ]);
    expect(problems({ cors, sessions: { ...SESSIONS, scopes: ['profile'] } })).toEqual(['sessions.scopes: must include openid (the ID token proves who signed in)']);
    expect(problems({ cors, sessions: { ...SESSIONS, redirectUri: 'http://127.0.0.1:4000/callback' } })).toEqual([
      "sessions.redirectUri: http://127.0.0.1:4000/callback must end in /auth/callback, the gateway's callback route",
    ]);
    expect(problems({ cors: { origins: ['https://app.example'], credentials: true }, sessions: { ...SESSIONS, redirectUri: 'http://gateway.example/auth/callback' } })).toEqual([
      'sessions.redirectUri: http://gateway.example/auth/callback is plain http; use https (plain http is accepted on loopback hosts only, for development)',
    ]);
  });

  it('need app origins, and CORS with credentials for apps on another origin than the gateway', () => {
    expect(problems({ sessions: SESSIONS })).toEqual([
      'sessions.appOrigins: empty and cors.origins lists no exact origin; list the origins your app runs on (returnTo and cookie requests are accepted from them only)',
    ]);
    expect(problems({ cors: { origins: [APP] }, sessions: SESSIONS })).toEqual([
      `cors: apps on ${APP} call the gateway (http://127.0.0.1:4000) with the session cookie; list them in cors.origins and set cors.credentials: true`,
    ]);
    // An app served from the gateway's own origin needs no CORS.
    expect(problems({ sessions: { ...SESSIONS, appOrigins: ['http://127.0.0.1:4000'] } })).toEqual([]);
    expect(problems({ cors, sessions: { ...SESSIONS, appOrigins: ['*'] } })).toContain('sessions.appOrigins: "*" is not allowed; list the exact origins of your apps');
  });

  it('keep the cookie __Host- prefixed', () => {
    expect(problems({ cors, sessions: { ...SESSIONS, cookieName: 'session' } })).toEqual([
      'sessions.cookieName: "session" must start with __Host- (the cookie is Secure, Path=/, host-only) followed by letters, digits, _ or -',
    ]);
  });
});
