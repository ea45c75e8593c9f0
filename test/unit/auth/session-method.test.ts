/**
 * The cookie session as a method of the authentication chain (gateway/auth/methods/session.ts): its access
 * token is verified by the JWT method (same checks, same cache), the principal is `session:<ns>:<sub>`
 * with `amr` session, and a session beside any other credential — a bearer token, an API key, a client
 * certificate that binds nothing — is ambiguous (401 invalid_request), refused before the session is
 * looked up where the chain can tell. Refusals name the `session` method (the audit stream reads it).
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../gateway/auth/api-keys/manage.ts';
import { createAuthenticator, type Authenticator, type AuthRequest } from '../../../gateway/auth/authenticate.ts';
import type { SessionCredential } from '../../../gateway/auth/method.ts';
import { parseConfig } from '../../../gateway/config/load.ts';
import { AuthError } from '../../../gateway/errors.ts';
import { createLogger } from '../../../gateway/log.ts';
import { createTestKey, type TestKey } from '../../support/issuer.ts';
import { SUPERGRAPH } from '../../support/stack.ts';
import { createTestPki, thumbprintOf } from '../../support/tls.ts';

const ISSUER = 'https://idp.session.test';
const AUD = 'shop-api';
let key: TestKey;
let auth: Authenticator;
let apiKey: string;
let clientCert: string;

beforeAll(async () => {
  key = await createTestKey('ES256');
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-session-method-'));
  const jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [key.publicJwk] }));
  const keys = join(dir, 'api-keys.yaml');
  writeFileSync(keys, 'keys: []\n');
  apiKey = createApiKey(keys, { name: 'ci-bot', scopes: ['products:read'] }).key;
  const pki = createTestPki();
  clientCert = pki.client('orders', { subject: '/O=Shop/CN=orders' }).cert;
  const config = parseConfig(
    {
      supergraph: SUPERGRAPH,
      listen: { host: '127.0.0.1', port: 0, tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert } },
      identity: { issuer: 'https://gateway.test', keys: [{ file: '/nonexistent/identity.json' }], devKeys: true },
      auth: {
        anonymous: true,
        jwt: [{ issuer: ISSUER, jwks, audience: [AUD], principalNamespace: 'shop' }],
        apiKeys: { file: keys, principalNamespace: 'partners' },
        mtls: { principalNamespace: 'mesh', identities: [{ match: { subject: 'O=Shop,CN=orders' }, subject: 'orders-service' }] },
      },
    },
    { env: {} },
  );
  auth = createAuthenticator(config.auth, { log: createLogger({ level: 'silent' }) });
  return () => auth.close();
});

function sign(claims: Record<string, unknown> = {}, lifetimeS = 300): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUD, sub: 'alice', scope: 'products:read', iat, exp: iat + lifetimeS, jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .sign(key.privateKey);
}

/** A session credential whose lookups are counted. */
function session(token: string | Promise<string> | (() => Promise<string>), check: () => void = () => {}): SessionCredential & { lookups: number } {
  const credential = {
    lookups: 0,
    check,
    async accessToken() {
      credential.lookups++;
      return typeof token === 'function' ? token() : token;
    },
  };
  return credential;
}

/** A TLS connection presenting `certFile`, as peerCertificateOf reads it. */
function tlsSocket(certFile: string): Socket {
  const raw = new X509Certificate(readFileSync(certFile)).raw;
  return { encrypted: true, authorized: true, authorizationError: null, getPeerCertificate: () => ({ raw }) } as unknown as Socket;
}

const request = (extra: Partial<AuthRequest> & { headers?: string[] } = {}): AuthRequest => {
  const { headers = [], ...rest } = extra;
  return { rawHeaders: headers, search: '', ...rest };
};

async function refusal(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

describe('the session method', () => {
  it('verifies the access token through the JWT method: principal session:<ns>:<sub>, amr session, the JWT cache shared', async () => {
    const token = await sign();
    const principal = await auth.authenticate(request({ session: session(token) }));
    expect(principal).toMatchObject({ method: 'session', id: 'session:shop:alice', subject: 'alice', issuer: ISSUER, scopes: ['products:read'] });
    const before = { ...auth.stats };
    expect((await auth.authenticate(request({ headers: ['Authorization', `Bearer ${token}`] }))).method).toBe('jwt');
    expect(auth.stats.cacheHits).toBe(before.cacheHits + 1); // the same token as a bearer: one verification for both
  });

  it.each([
    ['a bearer token', async () => ({ headers: ['Authorization', `Bearer ${await sign()}`] })],
    ['an API key header', async () => ({ headers: ['x-api-key', apiKey] })],
    ['an API key as a bearer token', async () => ({ headers: ['Authorization', `Bearer ${apiKey}`] })],
  ])('beside %s is ambiguous: 401 invalid_request, before the session is looked up', async (_name, other) => {
    const credential = session(sign());
    const error = await refusal(auth.authenticate(request({ ...(await other()), session: credential })));
    expect({ code: error.code, bearerError: error.bearerError, description: error.description }).toEqual({
      code: 'UNAUTHENTICATED',
      bearerError: 'invalid_request',
      description: 'Send exactly one credential',
    });
    expect(credential.lookups).toBe(0);
  });

  it('beside a client certificate that binds nothing is ambiguous: 401 invalid_request', async () => {
    const error = await refusal(auth.authenticate(request({ session: session(sign()), socket: tlsSocket(clientCert) })));
    expect({ bearerError: error.bearerError, description: error.description }).toEqual({ bearerError: 'invalid_request', description: 'Send exactly one credential' });
  });

  it('with the client certificate its token is bound to (RFC 8705): the session principal', async () => {
    const token = await sign({ cnf: { 'x5t#S256': thumbprintOf(clientCert) } });
    expect(await auth.authenticate(request({ session: session(token), socket: tlsSocket(clientCert) }))).toMatchObject({ method: 'session' });
    // The same bound token without that certificate is refused, as a bearer would be.
    const error = await refusal(auth.authenticate(request({ session: session(token) })));
    expect(error.description).toBe('The access token is bound to a client certificate');
  });

  it('an expired access token is token_expired, a bad one invalid_token; both attributed to the session method', async () => {
    const expired = await refusal(auth.authenticate(request({ session: session(sign({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 1 })) })));
    expect({ clientReason: expired.clientReason, method: expired.method }).toEqual({ clientReason: 'token_expired', method: 'session' });
    const wrongAudience = await refusal(auth.authenticate(request({ session: session(sign({ aud: 'other-api' })) })));
    expect({ bearerError: wrongAudience.bearerError, clientReason: wrongAudience.clientReason, method: wrongAudience.method }).toEqual({
      bearerError: 'invalid_token',
      clientReason: undefined,
      method: 'session',
    });
  });

  it('an ended session and a broken cookie rule are refusals of the session method', async () => {
    const ended = await refusal(auth.authenticate(request({ session: session(() => Promise.reject(AuthError.sessionEnded('unknown session'))) })));
    expect({ clientReason: ended.clientReason, method: ended.method }).toEqual({ clientReason: 'session_ended', method: 'session' });
    const credential = session(sign(), () => {
      throw AuthError.invalidRequest('no csrf header', 'Cookie-authenticated requests must send the x-frontdesk-csrf header');
    });
    const rule = await refusal(auth.authenticate(request({ session: credential })));
    expect({ bearerError: rule.bearerError, method: rule.method }).toEqual({ bearerError: 'invalid_request', method: 'session' });
    expect(credential.lookups).toBe(0);
  });
});
