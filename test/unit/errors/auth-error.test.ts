/**
 * Error writing: how an AuthError becomes an HTTP head and a GraphQL error (gateway/errors.ts,
 * RFC 6750 §3), and the node:http helpers both ends answer with (subgraphs/kit/node-http.ts): request
 * targets, JSON content types, the bounded body reader, and the exact bytes of JSON and catalogue errors.
 * The helpers run against a real node:http server on port 0.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, errorBody, type ErrorCode } from '@frontdesk/kit/catalogue';
import { ANSWERED, isJsonContentType, parseRequestTarget, readBody, readJsonBody, sendError, sendJson } from '@frontdesk/kit/node-http';
import { AUTH_RETRY_AFTER_SECONDS, AuthError, authErrorResponse } from '../../../gateway/errors.ts';
import { sendRaw } from '../../support/raw-http.ts';

describe('authErrorResponse', () => {
  it('no credential: 401 and a challenge without error (RFC 6750 §3)', () => {
    const { status, headers, error } = authErrorResponse(AuthError.missing(), 'frontdesk');
    expect(status).toBe(401);
    expect(headers).toEqual({ 'www-authenticate': 'Bearer realm="frontdesk"' });
    expect(error.message).toBe('Authentication required');
    expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('an unsupported scheme: 401 and a challenge without error (RFC 6750 §3.1)', () => {
    const refused = new AuthError('UNAUTHENTICATED', { description: 'Use the Bearer scheme', reason: 'unsupported Authorization scheme "Basic"' });
    const { status, headers, error } = authErrorResponse(refused, 'shop');
    expect(status).toBe(401);
    expect(headers).toEqual({ 'www-authenticate': 'Bearer realm="shop"' });
    expect(error.message).toBe('Use the Bearer scheme');
    expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('an invalid token: 401, error="invalid_token" and the client-safe description', () => {
    const { status, headers, error } = authErrorResponse(AuthError.invalidToken('signature verification failed (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)'), 'shop');
    expect(status).toBe(401);
    expect(headers).toEqual({ 'www-authenticate': 'Bearer realm="shop", error="invalid_token", error_description="The access token is invalid"' });
    expect(error.message).toBe('The access token is invalid');
    expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('an invalid token with its own description', () => {
    const { headers, error } = authErrorResponse(AuthError.invalidToken('credential of 9000 bytes exceeds the limit', 'The access token is too large'), 'frontdesk');
    expect(headers['www-authenticate']).toBe('Bearer realm="frontdesk", error="invalid_token", error_description="The access token is too large"');
    expect(error.message).toBe('The access token is too large');
  });

  it('an expired token: the same challenge shape with its own description, and extensions.reason "token_expired"', () => {
    const { status, headers, error } = authErrorResponse(AuthError.expired('ERR_JWT_EXPIRED: "exp" claim timestamp check failed'), 'shop');
    expect(status).toBe(401);
    expect(headers).toEqual({ 'www-authenticate': 'Bearer realm="shop", error="invalid_token", error_description="The access token expired"' });
    expect(error.message).toBe('The access token expired');
    expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'token_expired' });
  });

  it('an ended session: extensions.reason "session_ended", so the app signs in again rather than refreshing', () => {
    const { status, headers, error } = authErrorResponse(AuthError.sessionEnded('no session for this cookie'), 'frontdesk');
    expect(status).toBe(401);
    expect(headers).toEqual({ 'www-authenticate': 'Bearer realm="frontdesk", error="invalid_token", error_description="The session has ended; sign in again"' });
    expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'session_ended' });
  });

  it('an invalid request: 401, error="invalid_request"', () => {
    const { status, headers, error } = authErrorResponse(AuthError.invalidRequest('two Authorization headers', 'Send exactly one Authorization header'), 'frontdesk');
    expect(status).toBe(401);
    expect(headers).toEqual({ 'www-authenticate': 'Bearer realm="frontdesk", error="invalid_request", error_description="Send exactly one Authorization header"' });
    expect(error.message).toBe('Send exactly one Authorization header');
    expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('the identity provider unavailable: 503 with Retry-After, no challenge, the catalogue message', () => {
    const { status, headers, error } = authErrorResponse(AuthError.unavailable('jwks fetch timed out'), 'frontdesk');
    expect(status).toBe(503);
    expect(AUTH_RETRY_AFTER_SECONDS).toBe(5);
    expect(headers).toEqual({ 'retry-after': '5' });
    expect(error.message).toBe('Authentication is temporarily unavailable');
    expect(error.message).toBe(ERROR_CATALOGUE.AUTH_UNAVAILABLE.message);
    expect(error.extensions).toEqual({ code: 'AUTH_UNAVAILABLE' });
  });

  it('the server-only reason never reaches the client', () => {
    const reason = 'SECRET-REASON kid=abc jose=ERR_JWT_EXPIRED';
    for (const refused of [
      AuthError.invalidToken(reason),
      AuthError.invalidRequest(reason, 'Bad request'),
      AuthError.unavailable(reason),
      new AuthError('UNAUTHENTICATED', { description: 'Use the Bearer scheme', reason }),
    ]) {
      const { headers, error } = authErrorResponse(refused, 'frontdesk');
      expect(JSON.stringify(headers)).not.toContain('SECRET-REASON');
      expect(JSON.stringify(error.toJSON())).not.toContain('SECRET-REASON');
    }
  });

  it('the AuthError factories set code, bearerError and description', () => {
    const pick = (e: AuthError) => ({ code: e.code, bearerError: e.bearerError, description: e.description, reason: e.reason, message: e.message, name: e.name });
    expect(pick(AuthError.missing())).toEqual({
      code: 'UNAUTHENTICATED',
      bearerError: undefined,
      description: 'Authentication required',
      reason: 'no credentials and anonymous access is off',
      message: 'no credentials and anonymous access is off',
      name: 'AuthError',
    });
    expect(pick(AuthError.invalidToken('r'))).toEqual({ code: 'UNAUTHENTICATED', bearerError: 'invalid_token', description: 'The access token is invalid', reason: 'r', message: 'r', name: 'AuthError' });
    expect(pick(AuthError.invalidRequest('r', 'd'))).toEqual({ code: 'UNAUTHENTICATED', bearerError: 'invalid_request', description: 'd', reason: 'r', message: 'r', name: 'AuthError' });
    const cause = new Error('down');
    const unavailable = AuthError.unavailable('r', cause);
    expect(pick(unavailable)).toEqual({ code: 'AUTH_UNAVAILABLE', bearerError: undefined, description: 'Authentication is temporarily unavailable', reason: 'r', message: 'r', name: 'AuthError' });
    expect(unavailable.cause).toBe(cause);
  });
});

describe('parseRequestTarget', () => {
  it.each([
    ['/graphql', { pathname: '/graphql', search: '' }],
    ['/', { pathname: '/', search: '' }],
    ['/graphql?x=1&y=2', { pathname: '/graphql', search: '?x=1&y=2' }],
    ['/graphql?', { pathname: '/graphql', search: '' }],
    ['/a%20b', { pathname: '/a%20b', search: '' }],
    ['/graphql?q=%7B%7D', { pathname: '/graphql', search: '?q=%7B%7D' }],
  ])('origin-form %s', (target, expected) => {
    expect(parseRequestTarget(target)).toEqual(expected);
  });

  it.each([
    ['http://evil.example/graphql?a=b', { pathname: '/graphql', search: '?a=b' }],
    ['https://gateway.example:8443/healthz', { pathname: '/healthz', search: '' }],
    ['HTTP://EVIL.EXAMPLE/graphql', { pathname: '/graphql', search: '' }],
    ['http://evil.example', { pathname: '/', search: '' }],
  ])('absolute-form %s: only the path and query are used (RFC 9112 §3.2.2)', (target, expected) => {
    expect(parseRequestTarget(target)).toEqual(expected);
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
    ['asterisk-form', '*'],
    ['authority-form', 'gateway.example:443'],
    ['a network-path reference', '//evil.example/graphql'],
    ['a relative path', 'graphql'],
    ['another scheme', 'ftp://evil.example/graphql'],
    ['javascript:', 'javascript:alert(1)'],
    ['a scheme without authority', 'http:/graphql'],
    ['an absolute-form without host', 'http://'],
    ['a bare %', '/%'],
    ['a % with one hex digit', '/a%2'],
    ['a % with non-hex digits', '/a%zz'],
    ['a broken escape in the query', '/graphql?x=%'],
    ['a broken escape in the query value', '/graphql?x=%G1'],
  ])('%s is malformed (undefined, answered 400)', (_name, target) => {
    expect(parseRequestTarget(target)).toBeUndefined();
  });

  // Node's HTTP parser lets a backslash through (`GET /\evil.example/graphql HTTP/1.1` reaches the
  // handler as is). The WHATWG URL parser reads `\` as `/` in http(s) URLs, so `/\host/path` is the
  // network-path reference `//host/path`, refused above — but here it is accepted with its first segment
  // silently dropped. A backslash is not a URI character at all (RFC 3986 §2), so the target is malformed.
  it.each([
    ['/\\evil.example/graphql'],
    ['/graph\\ql'],
  ])('a backslash (%s) is malformed too', (target) => {
    expect(parseRequestTarget(target)).toBeUndefined();
  });
});

describe('isJsonContentType', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'application/json ; charset=utf-8',
    'APPLICATION/JSON',
    'Application/Json',
    'application/graphql-response+json',
    'application/graphql-response+json; charset=utf-8',
  ])('%s is JSON', (value) => {
    expect(isJsonContentType(value)).toBe(true);
  });

  it.each([
    [undefined],
    [''],
    ['text/plain'],
    ['text/json'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/jsonx'],
    ['application/json+x'],
    ['application/jsonp'],
    ['application/graphql'],
    ['application/graphql-response+jsonp'],
    ['application/ld+json'],
    ['xapplication/json'],
    ['application/json, text/plain'],
  ])('%s is not JSON', (value) => {
    expect(isJsonContentType(value)).toBe(false);
  });
});

// -------------------------------------------------------------------------------------------------------
// The writers and the body reader, on a real server.

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
let server: Server;
let base: string;
let handler: Handler = (_req, res) => void res.end();

beforeAll(async () => {
  server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      res.statusCode = 599;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Received {
  status: number;
  /** Header names as written, in order, with their values. */
  rawHeaders: string[];
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** One request; `chunks` are written separately (chunked unless a content-length header is given). */
function send(options: { method?: string; headers?: Record<string, string | number>; chunks?: Array<string | Buffer> } = {}): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

/** The headers a handler wrote, without the ones node:http adds itself. */
function written(received: Received): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < received.rawHeaders.length; i += 2) {
    const name = (received.rawHeaders[i] as string).toLowerCase();
    if (!['date', 'connection', 'keep-alive'].includes(name)) out[name] = received.rawHeaders[i + 1] as string;
  }
  return out;
}

describe('sendJson', () => {
  it('writes the status, a JSON content type, the exact byte length and the serialised body', async () => {
    handler = (_req, res) => sendJson(res, 200, { status: 'ok' });
    const received = await send({ method: 'GET' });
    expect(received.status).toBe(200);
    expect(written(received)).toEqual({ 'content-type': 'application/json; charset=utf-8', 'content-length': '15' });
    expect(received.body.toString('utf8')).toBe('{"status":"ok"}');
  });

  it('content-length counts bytes, not characters', async () => {
    handler = (_req, res) => sendJson(res, 201, { name: 'café ☕' });
    const received = await send({ method: 'GET' });
    const text = '{"name":"café ☕"}';
    expect(received.status).toBe(201);
    expect(received.headers['content-length']).toBe(String(Buffer.byteLength(text)));
    expect(Buffer.byteLength(text)).not.toBe(text.length);
    expect(received.body.equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('adds the extra headers given', async () => {
    handler = (_req, res) => sendJson(res, 503, { status: 'draining' }, { 'retry-after': '5', 'cache-control': 'no-store' });
    const received = await send({ method: 'GET' });
    expect(received.status).toBe(503);
    expect(written(received)).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'content-length': '21',
      'retry-after': '5',
      'cache-control': 'no-store',
    });
    expect(received.body.toString('utf8')).toBe('{"status":"draining"}');
  });
});

describe('sendError', () => {
  it.each(Object.keys(ERROR_CATALOGUE) as ErrorCode[])('%s: the catalogue status and message, in the error envelope', async (code) => {
    handler = (_req, res) => sendError(res, code);
    const received = await send({ method: 'GET' });
    const text = JSON.stringify({ errors: [{ message: ERROR_CATALOGUE[code].message, extensions: { code } }] });
    expect(received.status).toBe(ERROR_CATALOGUE[code].status);
    expect(received.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(received.headers['content-length']).toBe(String(Buffer.byteLength(text)));
    expect(received.body.toString('utf8')).toBe(text);
  });

  it('the exact bytes of a 404', async () => {
    handler = (_req, res) => sendError(res, 'NOT_FOUND');
    const received = await send({ method: 'GET' });
    expect(received.status).toBe(404);
    expect(received.body.toString('utf8')).toBe('{"errors":[{"message":"Not found","extensions":{"code":"NOT_FOUND"}}]}');
  });

  it('a message of its own replaces the catalogue message, the code and status stay', async () => {
    handler = (_req, res) => sendError(res, 'PAYLOAD_TOO_LARGE', 'Request body exceeds 10 bytes');
    const received = await send({ method: 'GET' });
    expect(received.status).toBe(413);
    expect(JSON.parse(received.body.toString('utf8'))).toEqual(errorBody('PAYLOAD_TOO_LARGE', 'Request body exceeds 10 bytes'));
    expect(received.body.toString('utf8')).toBe('{"errors":[{"message":"Request body exceeds 10 bytes","extensions":{"code":"PAYLOAD_TOO_LARGE"}}]}');
  });

  it('extra headers are written (Allow on a 405)', async () => {
    handler = (_req, res) => sendError(res, 'METHOD_NOT_ALLOWED', undefined, { allow: 'GET, POST' });
    const received = await send({ method: 'DELETE' });
    expect(received.status).toBe(405);
    expect(received.headers.allow).toBe('GET, POST');
    expect(received.body.toString('utf8')).toBe('{"errors":[{"message":"Method not allowed","extensions":{"code":"METHOD_NOT_ALLOWED"}}]}');
  });
});

describe('readBody', () => {
  /** Answers with what readBody resolved: `{ body }`, or `{ tooLarge: true }`. */
  const echo =
    (maxBytes: number): Handler =>
    async (req, res) => {
      const body = await readBody(req, maxBytes);
      sendJson(res, 200, body === undefined ? { tooLarge: true } : { body });
    };
  const result = async (received: Received) => JSON.parse(received.body.toString('utf8')) as { body?: string; tooLarge?: true };

  it('an empty body is ""', async () => {
    handler = echo(10);
    expect(await result(await send())).toEqual({ body: '' });
  });

  it('a body under the limit is read whole, across chunks', async () => {
    handler = echo(10);
    expect(await result(await send({ chunks: ['hel', 'lo'] }))).toEqual({ body: 'hello' });
  });

  it('exactly maxBytes is read', async () => {
    handler = echo(10);
    expect(await result(await send({ chunks: ['0123456789'] }))).toEqual({ body: '0123456789' });
    expect(await result(await send({ headers: { 'content-length': 10 }, chunks: ['0123456789'] }))).toEqual({ body: '0123456789' });
  });

  it('one byte more, chunked, is undefined once read, and the request can still be answered', async () => {
    handler = echo(10);
    expect(await result(await send({ chunks: ['01234', '56789', 'X'] }))).toEqual({ tooLarge: true });
  });

  it('one byte more, declared in content-length, is undefined', async () => {
    handler = echo(10);
    expect(await result(await send({ headers: { 'content-length': 11 }, chunks: ['0123456789X'] }))).toEqual({ tooLarge: true });
  });

  it('a declared content-length over the limit is answered before the body is sent', async () => {
    handler = echo(10);
    const answer = await sendRaw(base, 'POST / HTTP/1.1\nHost: test\nContent-Type: application/json\nContent-Length: 1000', { timeoutMs: 2_000 });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ tooLarge: true });
  });

  it('the limit is in bytes, and UTF-8 split across chunks is decoded whole', async () => {
    const accent = Buffer.from('é', 'utf8'); // 2 bytes
    handler = echo(4);
    expect(await result(await send({ chunks: [accent.subarray(0, 1), accent.subarray(1), Buffer.from('é', 'utf8')] }))).toEqual({ body: 'éé' });
    handler = echo(3);
    expect(await result(await send({ chunks: ['éé'] }))).toEqual({ tooLarge: true });
  });
});

describe('readJsonBody', () => {
  const parse =
    (maxBytes: number): Handler =>
    async (req, res) => {
      const value = await readJsonBody(req, res, maxBytes);
      if (value !== ANSWERED) sendJson(res, 200, { parsed: value });
    };

  it('returns the parsed value', async () => {
    handler = parse(100);
    const received = await send({ chunks: ['{"query":"{ a }"}'] });
    expect(JSON.parse(received.body.toString('utf8'))).toEqual({ parsed: { query: '{ a }' } });
  });

  it('answers 413 PAYLOAD_TOO_LARGE naming the limit', async () => {
    handler = parse(10);
    const received = await send({ chunks: ['{"query":"{ a }"}'] });
    expect(received.status).toBe(413);
    expect(received.body.toString('utf8')).toBe('{"errors":[{"message":"Request body exceeds 10 bytes","extensions":{"code":"PAYLOAD_TOO_LARGE"}}]}');
  });

  it('answers 400 BAD_REQUEST when the body is not JSON', async () => {
    handler = parse(100);
    const received = await send({ chunks: ['{"query":'] });
    expect(received.status).toBe(400);
    expect(received.body.toString('utf8')).toBe('{"errors":[{"message":"Request body is not valid JSON","extensions":{"code":"BAD_REQUEST"}}]}');
  });
});
