/**
 * A test identity provider over real HTTP: publishes a JWKS (and discovery) on port 0, counts the
 * requests it gets, and signs any token a test asks for — including hostile ones — with its keys.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TestKey {
  kid: string;
  alg: 'ES256' | 'RS256' | 'EdDSA';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createTestKey(alg: TestKey['alg'], kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface SignOptions {
  key?: TestKey;
  /** Extra or overriding protected header members. */
  header?: Record<string, unknown>;
  /** Seconds from now; null leaves exp out. Default 300. */
  expiresIn?: number | null;
}

export interface TestIssuer {
  issuer: string;
  jwksUrl: string;
  audience: string;
  keys: TestKey[];
  /** GET requests to the JWKS and discovery endpoints. */
  requests: { jwks: number; discovery: number };
  /** What the JWKS endpoint does: serve keys, fail, hang, or serve a body of the test's choosing. */
  mode: 'ok' | 'down' | 'hang' | { status: number; body: string };
  sign(claims?: JWTPayload, options?: SignOptions): Promise<string>;
  /** Adds a new key that signs from now on; with keepOld false the old keys leave the JWKS. */
  rotate(keepOld: boolean): Promise<TestKey>;
  close(): Promise<void>;
}

export async function startTestIssuer(options: { audience?: string; alg?: TestKey['alg'] } = {}): Promise<TestIssuer> {
  const audience = options.audience ?? 'shop-api';
  const keys = [await createTestKey(options.alg ?? 'ES256')];
  const requests = { jwks: 0, discovery: 0 };
  const sockets = new Set<import('node:net').Socket>();
  let issuer = '';
  const state: TestIssuer = {
    issuer,
    jwksUrl: '',
    audience,
    keys,
    requests,
    mode: 'ok',
    async sign(claims = {}, signOptions = {}) {
      const key = signOptions.key ?? (keys[0] as TestKey);
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iss: issuer, aud: audience, sub: 'user-1', iat: now, jti: randomUUID(), scope: 'products:read', ...claims };
      if (signOptions.expiresIn !== null && !('exp' in claims)) payload.exp = now + (signOptions.expiresIn ?? 300);
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...signOptions.header }).sign(key.privateKey);
    },
    async rotate(keepOld) {
      const key = await createTestKey(keys[0]?.alg ?? 'ES256');
      if (!keepOld) keys.length = 0;
      keys.unshift(key);
      return key;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://issuer').pathname;
    if (path === '/.well-known/openid-configuration') {
      requests.discovery++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
      return;
    }
    if (path !== '/jwks') {
      res.writeHead(404).end();
      return;
    }
    requests.jwks++;
    const mode = state.mode;
    if (mode === 'down') return void req.socket.destroy();
    if (mode === 'hang') return; // never answers
    if (typeof mode === 'object') {
      res.writeHead(mode.status, { 'content-type': 'application/json' });
      res.end(mode.body);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: keys.map((key) => key.publicJwk) }));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.issuer = issuer;
  state.jwksUrl = `${issuer}/jwks`;
  return state;
}
