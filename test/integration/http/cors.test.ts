/** CORS at the HTTP front (gateway/http/cors.ts), over real HTTP: exact origins, Vary always, nothing for others. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../support/stack.ts';

const APP = 'http://127.0.0.1:5173';
const QUERY = JSON.stringify({ query: '{ topProducts(first: 1) { upc } }' });

function accessControl(headers: Headers): Record<string, string> {
  return Object.fromEntries([...headers.entries()].filter(([name]) => name.startsWith('access-control-')));
}

describe('CORS configured', () => {
  let stack: Stack;
  let base: string;
  beforeAll(async () => {
    stack = await startStack({ config: { cors: { origins: [APP, 'https://app.example'], credentials: true, maxAge: '5m' } } });
    base = stack.gateway.url;
  });
  afterAll(() => stack.close());

  const preflight = (origin: string, method: string, headers?: string) =>
    fetch(`${base}/graphql`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, ...(headers === undefined ? {} : { 'access-control-request-headers': headers }) },
    });

  it('a preflight from an allowed origin is answered before authentication, granting exactly what is configured', async () => {
    const response = await preflight(APP, 'POST', 'content-type, authorization, x-frontdesk-csrf');
    expect(response.status).toBe(204);
    expect(accessControl(response.headers)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'content-type, authorization, x-request-id, x-frontdesk-csrf, apollo-require-preflight, traceparent, tracestate, baggage',
      'access-control-max-age': '300',
    });
    expect(response.headers.get('vary')).toBe('Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
  });

  it.each([
    ['another origin', 'https://evil.example', 'POST', 'content-type'],
    ['an allowed origin with a path', `${APP}/`, 'POST', 'content-type'],
    ['an allowed origin in upper case', APP.toUpperCase(), 'POST', 'content-type'],
    ['the origin "null"', 'null', 'POST', 'content-type'],
    ['a 10 KB origin', `https://${'a'.repeat(10_240)}.example`, 'POST', 'content-type'],
    ['a method not allowed', APP, 'DELETE', 'content-type'],
    ['a header not allowed', APP, 'POST', 'content-type, x-evil'],
    ['a cookie header', APP, 'POST', 'cookie'],
  ])('a preflight with %s gets no Access-Control-Allow-* at all', async (_name, origin, method, headers) => {
    const response = await preflight(origin, method, headers);
    expect(response.status).toBe(204);
    expect(accessControl(response.headers)).toEqual({});
    expect(response.headers.get('vary')).toBe('Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
  });

  it('an allowed origin can read answers, errors included, with x-request-id and WWW-Authenticate exposed', async () => {
    const ok = await fetch(`${base}/graphql`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/json' }, body: QUERY });
    expect(ok.status).toBe(200);
    expect(accessControl(ok.headers)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id, www-authenticate, retry-after',
    });
    expect(ok.headers.get('vary')).toBe('Origin');

    const refused = await fetch(`${base}/graphql`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/json', authorization: 'Bearer not.a.jwt' }, body: QUERY });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="frontdesk", error="invalid_token"/);
  });

  it('another origin gets the answer without any CORS grant (its browser hides it), and Vary: Origin', async () => {
    const response = await fetch(`${base}/graphql`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: QUERY });
    expect(accessControl(response.headers)).toEqual({});
    expect(response.headers.get('vary')).toBe('Origin');
    const noOrigin = await fetch(`${base}/healthz`);
    expect(noOrigin.headers.get('vary')).toBe('Origin');
    expect(accessControl(noOrigin.headers)).toEqual({});
  });

  it('an OPTIONS that is not a preflight is routed as usual', async () => {
    const response = await fetch(`${base}/graphql`, { method: 'OPTIONS', headers: { origin: APP } });
    expect(response.status).toBe(405);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
  });
});

describe('CORS off (the default)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('a preflight is a plain 405 with no CORS header, as before', async () => {
    const response = await fetch(`${stack.gateway.url}/graphql`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } });
    expect(response.status).toBe(405);
    expect(accessControl(response.headers)).toEqual({});
  });
});
