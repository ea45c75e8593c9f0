/**
 * The gateway's HTTP front (gateway/http/front.ts) and the kit's subgraph handler answer the envelope the
 * same way: malformed request targets are 400, unknown routes 404, other methods 405, from the catalogue;
 * and the gateway authenticates from the headers before it reads a byte of the body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { sendRaw } from '../../support/raw-http.ts';
import { startStack, type Stack } from '../../support/stack.ts';

let stack: Stack;
let issuer: TestIssuer;
let gatewayBase: string;
let subgraphBase: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  stack = await startStack({ auth: { anonymous: false, jwt: [{ issuer: issuer.issuer, jwks: issuer.jwksUrl, audience: ['shop-api'] }] } });
  gatewayBase = stack.gateway.url;
  subgraphBase = new URL(stack.subgraphs.products.url).origin;
});
afterAll(async () => {
  await stack?.close();
  await issuer?.close();
});

const MALFORMED_TARGETS = ['//evil.example/graphql', 'graphql', '*', 'evil.example:443', 'http://[::1/graphql', 'http://exa mple/graphql', '/%', '/graphql?%zz', '/graph%2', '/\\evil.example/graphql'];

describe.each([
  ['gateway', () => gatewayBase],
  ['kit subgraph handler', () => subgraphBase],
])('%s: the request envelope', (_name, base) => {
  it.each(MALFORMED_TARGETS)('request target %s is a 400 BAD_REQUEST from the catalogue, never a 500', async (target) => {
    const answer = await sendRaw(base(), `POST ${target} HTTP/1.1\nhost: localhost\ncontent-type: application/json\ncontent-length: 2\nconnection: close`, { body: '{}' });
    expect(answer.status).toBe(400);
    expect((JSON.parse(answer.body) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('BAD_REQUEST');
  });

  it('an absolute-form target is served by its path, never routed by its host (RFC 9112 §3.2.2)', async () => {
    const answer = await sendRaw(base(), 'GET http://evil.example/healthz HTTP/1.1\nhost: localhost\nconnection: close');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ status: 'ok' });
  });

  it('an unknown route is 404 NOT_FOUND and a GET of the GraphQL path 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const missing = await sendRaw(base(), 'GET /nowhere HTTP/1.1\nhost: localhost\nconnection: close');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
    const get = await sendRaw(base(), 'GET /graphql HTTP/1.1\nhost: localhost\nconnection: close');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(JSON.parse(get.body)).toEqual({ errors: [{ message: 'Only POST is accepted', extensions: { code: 'METHOD_NOT_ALLOWED' } }] });
  });

  it('a body that is not JSON is 415 UNSUPPORTED_MEDIA_TYPE, before anything reads it', async () => {
    const answer = await sendRaw(base(), 'POST /graphql HTTP/1.1\nhost: localhost\ncontent-type: text/plain\ncontent-length: 2\nconnection: close', { body: '{}' });
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.body)).toEqual({ errors: [{ message: 'Content-Type must be application/json', extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }] });
  });
});

describe('the gateway authenticates before it reads the body', () => {
  const announced = (authorization: string) =>
    `POST /graphql HTTP/1.1\nhost: localhost\ncontent-type: application/json\ncontent-length: 1000000${authorization ? `\nauthorization: ${authorization}` : ''}`;

  it.each([
    ['no credential while anonymous access is off', ''],
    ['an invalid token', 'Bearer not.a.jwt'],
    ['an unsupported scheme', 'Basic dXNlcjpwYXNz'],
  ])('%s: 401 answered while the announced 1 MB body was never sent, and the connection is closed', async (_case, authorization) => {
    stack.resetReceived();
    const answer = await sendRaw(gatewayBase, announced(authorization), { timeoutMs: 3_000 });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="frontdesk"/);
    expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(answer.closed).toBe(true);
    expect(stack.subgraphs.products.received).toHaveLength(0);
  });

  it('a valid token does wait for the body (the request is then served)', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const body = JSON.stringify({ query: '{ topProducts(first: 1) { upc } }' });
    const answer = await sendRaw(gatewayBase, `POST /graphql HTTP/1.1\nhost: localhost\ncontent-type: application/json\ncontent-length: ${body.length}\nauthorization: Bearer ${token}\nconnection: close`, { body });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ data: { topProducts: [{ upc: 'p001' }] } });
  });
});
