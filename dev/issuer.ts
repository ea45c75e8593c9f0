/**
 * A small local identity provider for `npm start`: OIDC discovery, a JWKS, RFC 9068 JWT access tokens
 * (typ at+jwt, ES256) and opaque access tokens with RFC 7662 introspection, for the demo users. The
 * gateway consumes it exactly like a production IdP, through gateway.yaml and discovery. It has no login:
 * it binds to loopback and is for development only.
 *
 *   POST /token  {"user":"alice"}                    → {"access_token": "<JWT>", "token_type": "Bearer", "expires_in": 3600}
 *   POST /token  {"user":"alice","format":"opaque"}  → {"access_token": "<opaque>", …}
 *   POST /introspect  token=…  (Basic DEV_INTROSPECTION_CLIENT)  → {"active": true, …} | {"active": false}
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { readBody, sendJson } from '@frontdesk/kit/node-http';
import { DEMO_USERS } from './users.ts';

export const DEV_AUDIENCE = 'shop-api';
/** The client the gateway introspects with (gateway.yaml `auth.introspection`); development only. */
export const DEV_INTROSPECTION_CLIENT = { id: 'frontdesk-gateway', secret: 'dev-introspection-secret' } as const;

export interface DevIssuer {
  issuer: string;
  server: Server;
  close(): Promise<void>;
}

export async function startDevIssuer(options: { host?: string; port: number; keyFile: string; tokenTtlSeconds?: number }): Promise<DevIssuer> {
  const privateJwk = await loadOrCreateKey(options.keyFile);
  const privateKey = await importJWK(privateJwk, 'ES256');
  const { d: _d, ...publicJwk } = privateJwk;
  const ttl = options.tokenTtlSeconds ?? 3_600;
  let issuer = '';
  /** Opaque tokens issued, with their introspection answer (bounded by expiry, pruned on issue). */
  const opaque = new Map<string, Record<string, unknown>>();
  const basic = Buffer.from(`${DEV_INTROSPECTION_CLIENT.id}:${DEV_INTROSPECTION_CLIENT.secret}`);

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://issuer').pathname;
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      return sendJson(res, 200, {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        token_endpoint: `${issuer}/token`,
        introspection_endpoint: `${issuer}/introspect`,
        id_token_signing_alg_values_supported: ['ES256'],
        response_types_supported: [],
        subject_types_supported: ['public'],
      });
    }
    if (req.method === 'GET' && path === '/jwks') return sendJson(res, 200, { keys: [{ ...publicJwk, use: 'sig' }] });
    if (req.method === 'POST' && path === '/introspect') {
      void readBody(req, 8_192).then((raw) => {
        const given = Buffer.from(/^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '', 'base64');
        if (given.length !== basic.length || !timingSafeEqual(given, basic)) return sendJson(res, 401, { error: 'invalid_client' });
        const answer = opaque.get(new URLSearchParams(raw ?? '').get('token') ?? '');
        sendJson(res, 200, answer && (answer.exp as number) * 1000 > Date.now() ? answer : { active: false });
      });
      return;
    }
    if (req.method === 'POST' && path === '/token') {
      void readBody(req, 4_096).then(async (raw) => {
        let user: string | undefined;
        let format: unknown;
        try {
          ({ user, format } = JSON.parse(raw ?? '') as { user?: string; format?: unknown });
        } catch {
          user = undefined;
        }
        const demo = user ? DEMO_USERS[user] : undefined;
        if (!demo) return sendJson(res, 400, { error: 'invalid_request', error_description: `user must be one of ${Object.keys(DEMO_USERS).join(', ')}` });
        if (format === 'opaque') {
          const token = randomBytes(32).toString('base64url');
          const now = Math.floor(Date.now() / 1000);
          for (const [old, answer] of opaque) if ((answer.exp as number) <= now) opaque.delete(old);
          opaque.set(token, { active: true, iss: issuer, aud: DEV_AUDIENCE, sub: demo.sub, scope: demo.scope, roles: demo.roles, org_id: demo.org_id, client_id: 'frontdesk-dev', token_type: 'Bearer', iat: now, exp: now + ttl });
          return sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: ttl });
        }
        const accessToken = await new SignJWT({ scope: demo.scope, roles: demo.roles, org_id: demo.org_id, client_id: 'frontdesk-dev' })
          .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid as string, typ: 'at+jwt' })
          .setIssuer(issuer)
          .setAudience(DEV_AUDIENCE)
          .setSubject(demo.sub)
          .setIssuedAt()
          .setExpirationTime(`${ttl}s`)
          .setJti(randomUUID())
          .sign(privateKey);
        sendJson(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: ttl });
      });
      return;
    }
    sendJson(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  issuer = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return {
    issuer,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function loadOrCreateKey(file: string): Promise<JWK> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as JWK;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: `dev-issuer-${randomUUID().slice(0, 8)}`, alg: 'ES256' };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 4005);
  const issuer = await startDevIssuer({ port, keyFile: process.env.FRONTDESK_DEV_ISSUER_KEY ?? '.dev/issuer-key.json' });
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', service: 'issuer', msg: 'dev token issuer listening', issuer: issuer.issuer })}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void issuer.close().then(() => process.exit(0)));
}
