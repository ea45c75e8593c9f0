/**
 * Helpers shared by the gateway authentication tests: raw token crafting, a raw HTTP client (for what
 * fetch cannot send: duplicate headers, a token in the URL, oversized headers), and the assertions every
 * refusal must satisfy.
 */
import { request } from 'node:http';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { HttpResult, Stack } from '../../support/stack.ts';

/** Touches the products subgraph only. */
export const QUERY = { query: '{ topProducts(first: 1) { upc name } }' };

export const REALM = 'frontdesk';

export const b64url = (value: string | Buffer | Record<string, unknown> | unknown[]): string =>
  Buffer.from(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value)).toString('base64url');

/** A compact JWS from parts, signature as given (never valid unless the caller computed it). */
export const craft = (header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string =>
  `${b64url(header)}.${b64url(payload)}.${signature}`;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface RawResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: HttpResult['body'] | undefined;
}

/**
 * POSTs with exactly the header lines given (name, value, name, value…), in order and spelling, to
 * `path` (which may carry a query string) of the gateway.
 */
export function rawPost(base: string, path: string, rawHeaders: string[], body: unknown = QUERY): Promise<RawResult> {
  const url = new URL(path, base);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      // With an array, Node adds no Host header of its own (and an HTTP/1.1 request without one is a 400).
      headers: ['host', url.host, 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(payload)), 'connection', 'close', ...rawHeaders],
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: HttpResult['body'] | undefined;
        try {
          parsed = JSON.parse(text) as HttpResult['body'];
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The gateway's base URL (without /graphql). */
export const baseOf = (stack: Stack): string => stack.gateway.url;

export function expectNoSubgraphCalled(stack: Stack): void {
  expect(stack.subgraphs.products.received).toEqual([]);
  expect(stack.subgraphs.reviews.received).toEqual([]);
  expect(stack.subgraphs.accounts.received).toEqual([]);
}

/** Text that would reveal why a token was refused; none of it may reach the client. */
const LEAKS = /ERR_J|signature|jose|jwks|kid|"alg|claim|issuer|audience|exp\b|nbf|iat|typ|stack|at \w+ \(/i;

export interface Refusal {
  status?: number;
  error?: 'invalid_token' | 'invalid_request';
  description: string;
  /** `extensions.reason` (docs/errors.md): present only for an expired token or an ended session. */
  reason?: 'token_expired' | 'session_ended';
}

export const INVALID: Refusal = { error: 'invalid_token', description: 'The access token is invalid' };
export const EXPIRED: Refusal = { error: 'invalid_token', description: 'The access token expired', reason: 'token_expired' };
export const TOO_LARGE: Refusal = { error: 'invalid_token', description: 'The access token is too large' };
export const TWO_HEADERS: Refusal = { error: 'invalid_request', description: 'Send exactly one Authorization header' };
export const IN_URL: Refusal = { error: 'invalid_request', description: 'Send the token in the Authorization header, not the URL' };
/** RFC 6750 §3.1: an unsupported method gets a challenge without an error code. */
export const NOT_BEARER: Refusal = { description: 'Use the Bearer scheme' };
export const EMPTY_BEARER: Refusal = { error: 'invalid_request', description: 'The Bearer credential is empty' };

/**
 * A refusal as the catalogue (docs/errors.md) says: 401, the exact RFC 6750 challenge, UNAUTHENTICATED with the
 * client-safe message only, no reason in the body, and no subgraph called.
 */
export function expectRefused(stack: Stack, result: HttpResult | RawResult, refusal: Refusal): void {
  const headers = 'text' in result ? result.headers : Object.fromEntries(result.headers.entries());
  const challenge = refusal.error
    ? `Bearer realm="${REALM}", error="${refusal.error}", error_description="${refusal.description}"`
    : `Bearer realm="${REALM}"`;
  expect({ status: result.status, challenge: headers['www-authenticate'] }).toEqual({ status: refusal.status ?? 401, challenge });
  const extensions = refusal.reason ? { code: 'UNAUTHENTICATED', reason: refusal.reason } : { code: 'UNAUTHENTICATED' };
  expect(result.body).toEqual({ errors: [{ message: refusal.description, extensions }] });
  expect(JSON.stringify(result.body)).not.toMatch(LEAKS);
  expect(headers['retry-after']).toBeUndefined();
  expectNoSubgraphCalled(stack);
}

export function expectUnavailable(stack: Stack, result: HttpResult): void {
  expect(result.status).toBe(503);
  expect(result.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  // Never "your token is invalid" when the provider is the problem.
  expect(result.headers.get('www-authenticate')).toBeNull();
  expect(result.body).toEqual({ errors: [{ message: 'Authentication is temporarily unavailable', extensions: { code: 'AUTH_UNAVAILABLE' } }] });
  expectNoSubgraphCalled(stack);
}

export function expectAccepted(stack: Stack, result: HttpResult, subject?: string): void {
  expect(result.body.errors).toBeUndefined();
  expect(result.status).toBe(200);
  expect(result.body.data?.topProducts).toEqual([expect.objectContaining({ upc: expect.any(String) })]);
  const received = stack.subgraphs.products.received.at(-1);
  expect(received?.identity?.claims.amr).toEqual(['jwt']);
  if (subject !== undefined) expect(received?.identity?.claims.sub).toBe(subject);
}

/** Polls `probe` until it returns true; fails after `timeoutMs`. */
export async function waitUntil(probe: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A loopback HTTP server that counts requests and answers with `handler`. */
export interface CountingServer {
  url: string;
  requests: number;
  close(): Promise<void>;
}

export async function startCountingServer(handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<CountingServer> {
  const state = { url: '', requests: 0 } as CountingServer;
  const server: Server = createServer((req, res) => {
    state.requests++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
