/**
 * Introspection against a hostile or broken authorization server (issue 12, "Bad input"): only a JSON
 * object with the boolean `active: true`, a configured `aud`, the configured `iss`, a future `exp`, no
 * future `nbf` and `token_type: Bearer` authenticates. 500s, timeouts and resets are 503 AUTH_UNAVAILABLE;
 * everything else a 401. None is anonymous, none reaches a subgraph. Refusals and successes are cached
 * (per token digest, never past exp), one request in flight per token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../support/stack.ts';
import { QUERY, expectRefused, expectUnavailable, sleep } from './support.ts';

const ISSUER_PATH = '/realms/shop';
const AUDIENCE = 'shop-api';
type Answer = (req: IncomingMessage, res: ServerResponse, form: URLSearchParams) => void;

let server: Server;
let issuer: string;
let answer: Answer;
const seen: Array<{ authorization: string | undefined; form: URLSearchParams }> = [];
let stack: Stack;

const now = () => Math.floor(Date.now() / 1000);
const active = (extra: Record<string, unknown> = {}) => ({ active: true, iss: issuer, aud: AUDIENCE, sub: 'u-42', scope: 'products:read', token_type: 'Bearer', exp: now() + 300, iat: now(), ...extra });
const json = (body: unknown, status = 200): Answer => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
let counter = 0;
const opaque = () => `opaque-${Date.now()}-${++counter}`;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (req.url === `${ISSUER_PATH}/.well-known/openid-configuration`) return json({ issuer, introspection_endpoint: `${issuer}/introspect` })(req, res, form);
      seen.push({ authorization: req.headers.authorization, form });
      answer(req, res, form);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${ISSUER_PATH}`;
  stack = await startStack({
    auth: {
      anonymous: true,
      // endpoint omitted: found through discovery
      introspection: [{ issuer, clientId: 'frontdesk', clientSecret: 's3cret:with/odd chars', audience: [AUDIENCE], timeout: '300ms', negativeCacheTtl: '5s', principalNamespace: 'shop' }],
    },
  });
});
afterAll(async () => {
  await stack?.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  stack.resetReceived();
  seen.length = 0;
  answer = json(active());
});

describe('introspection (RFC 7662) against a hostile server', () => {
  it('an active answer authenticates: amr introspection, pid introspection:<namespace>:<sub>, client_secret_basic', async () => {
    const token = opaque();
    const result = await stack.query(QUERY, { token });
    expect(result.status).toBe(200);
    expect(stack.subgraphs.products.received[0]?.identity?.claims).toMatchObject({ amr: ['introspection'], sub: 'u-42', pid: 'introspection:shop:u-42', scope: ['products:read'], orig_iss: issuer });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.form.get('token')).toBe(token);
    // RFC 6749 §2.3.1: form-urlencoded, then base64.
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('frontdesk:s3cret%3Awith%2Fodd+chars').toString('base64')}`);
  });

  it.each<[string, Answer]>([
    ['active "true" (a string)', json(active({ active: 'true' }))],
    ['active 1', json(active({ active: 1 }))],
    ['no active member', json({ ...active(), active: undefined })],
    ['active false', json({ active: false })],
    ['an HTML page', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>login</body></html>')],
    ['a JSON array', json([active()])],
    ['JSON null', json('null')],
    ['another aud', json(active({ aud: 'other-api' }))],
    ['no aud', json(active({ aud: undefined }))],
    ['another iss', json(active({ iss: 'https://evil.example' }))],
    ['exp in the past', json(active({ exp: now() - 10 }))],
    ['no exp', json(active({ exp: undefined }))],
    ['exp a string', json(active({ exp: String(now() + 300) }))],
    ['nbf in the future', json(active({ nbf: now() + 3_600 }))],
    ['a refresh token (no token_type)', json(active({ token_type: undefined }))],
    ['a DPoP token_type', json(active({ token_type: 'DPoP' }))],
    ['a cnf we cannot check (jkt)', json(active({ cnf: { jkt: 'x'.repeat(43) } }))],
    ['a subject that is not a string', json(active({ sub: 42 }))],
    ['a scope item with a newline', json(active({ scope: ['products:read\nadmin'] }))],
    ['5 MB', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...active(), pad: 'x'.repeat(5 * 1_048_576) }))],
    ['5 MB, chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"active":true,"pad":"`);
      const chunk = 'x'.repeat(65_536);
      let sent = 0;
      const more = () => {
        while (sent < 80 && res.write(chunk)) sent++;
        if (sent < 80) res.once('drain', more);
        else res.end('"}');
      };
      more();
    }],
  ])('%s: 401 invalid_token, not anonymous, no subgraph call', async (_name, hostile) => {
    answer = hostile;
    const result = await stack.query(QUERY, { token: opaque() });
    expectRefused(stack, result, { error: 'invalid_token', description: _name === 'exp in the past' ? 'The access token expired' : 'The access token is invalid' });
  });

  it.each<[string, Answer]>([
    ['HTTP 500', json({ error: 'server_error' }, 500)],
    ['HTTP 401 (the gateway\'s own credentials refused)', json({ error: 'invalid_client' }, 401)],
    ['a redirect', (_req, res) => res.writeHead(302, { location: 'https://evil.example/' }).end()],
    ['a reset connection', (req) => req.socket.destroy()],
    ['no answer within the timeout (30 s)', (_req, res) => setTimeout(() => json(active())(_req, res, new URLSearchParams()), 30_000).unref()],
  ])('%s: 503 AUTH_UNAVAILABLE, never anonymous', async (_name, hostile) => {
    answer = hostile;
    const started = Date.now();
    expectUnavailable(stack, await stack.query(QUERY, { token: opaque() }));
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('an outage is not remembered: the same token works once the server answers again', async () => {
    const token = opaque();
    answer = json({}, 500);
    expectUnavailable(stack, await stack.query(QUERY, { token }));
    answer = json(active());
    expect((await stack.query(QUERY, { token })).status).toBe(200);
  });

  it('an active answer is reused (one request per token), never past its exp', async () => {
    const token = opaque();
    answer = json(active({ exp: now() + 2 }));
    for (let i = 0; i < 5; i++) expect((await stack.query(QUERY, { token })).status).toBe(200);
    expect(seen).toHaveLength(1);
    await sleep(2_100);
    answer = json({ active: false });
    stack.resetReceived();
    expectRefused(stack, await stack.query(QUERY, { token }), { error: 'invalid_token', description: 'The access token is invalid' });
    expect(seen).toHaveLength(2);
  });

  it('a flood of one bad token asks once (negative cache), 50 concurrent first requests share one introspection', async () => {
    const bad = opaque();
    answer = json({ active: false });
    const results = await Promise.all(Array.from({ length: 50 }, () => stack.query(QUERY, { token: bad })));
    expect(results.every((result) => result.status === 401)).toBe(true);
    for (let i = 0; i < 20; i++) expect((await stack.query(QUERY, { token: bad })).status).toBe(401);
    expect(seen).toHaveLength(1);

    const good = opaque();
    answer = (req, res, form) => setTimeout(() => json(active())(req, res, form), 100);
    const oks = await Promise.all(Array.from({ length: 50 }, () => stack.query(QUERY, { token: good })));
    expect(oks.every((result) => result.status === 200)).toBe(true);
    expect(seen).toHaveLength(2);
  });

  it('a JWS-shaped token is never sent for introspection unless its iss is the introspection issuer', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt' })).toString('base64url');
    const foreign = `${header}.${Buffer.from(JSON.stringify({ iss: 'https://elsewhere.example', sub: 'x' })).toString('base64url')}.c2ln`;
    expectRefused(stack, await stack.query(QUERY, { token: foreign }), { error: 'invalid_token', description: 'The access token is invalid' });
    expect(seen).toHaveLength(0);
    const ours = `${header}.${Buffer.from(JSON.stringify({ iss: issuer, sub: 'x' })).toString('base64url')}.c2ln`;
    expect((await stack.query(QUERY, { token: ours })).status).toBe(200);
    expect(seen).toHaveLength(1);
  });
});
