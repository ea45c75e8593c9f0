/**
 * How the gateway fetches identity-provider keys under abuse and failure (threat model: "An unknown kid
 * triggers at most one key refetch per cooldown, shared by all requests"; "Faults fail closed and stay
 * responsive"): kid floods, cold start, provider down or hanging, junk key sets; and the challenge when
 * no credential is sent and anonymous access is off.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startStack, type HttpResult, type Stack } from '../../support/stack.ts';
import { createTestKey, startTestIssuer, type TestIssuer, type TestKey } from '../../support/issuer.ts';
import {
  INVALID,
  QUERY,
  closedPort,
  expectAccepted,
  expectNoSubgraphCalled,
  expectRefused,
  expectUnavailable,
  sleep,
  startCountingServer,
  type CountingServer,
} from './support.ts';

const AUD = 'shop-api';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function issuer(): Promise<TestIssuer> {
  const started = await startTestIssuer({ alg: 'ES256' });
  cleanups.push(() => started.close());
  return started;
}

async function stackFor(entries: Array<Record<string, unknown>>, auth: Record<string, unknown> = {}): Promise<Stack> {
  const stack = await startStack({ auth: { anonymous: true, ...auth, jwt: entries.map((entry) => ({ audience: [AUD], ...entry })) } });
  // Closed before the issuers (registered earlier, so they run in the same Promise.all; closing order
  // does not matter for correctness).
  cleanups.push(() => stack.close());
  return stack;
}

async function timed(stack: Stack, token: string): Promise<{ result: HttpResult; ms: number }> {
  const started = performance.now();
  const result = await stack.query(QUERY, { token });
  return { result, ms: performance.now() - started };
}

/** Tokens that claim `idp` but are signed by a key it never published, each with a fresh random kid. */
function randomKidTokens(idp: TestIssuer, rogue: TestKey, count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, () => idp.sign({ sub: 'flood' }, { key: rogue, header: { kid: randomUUID() } })));
}

describe('a flood of random kids cannot make the gateway hammer the identity provider', () => {
  it.each([
    ['a jwks URL', (idp: TestIssuer) => ({ issuer: idp.issuer, jwks: idp.jwksUrl })],
    ['OIDC discovery', (idp: TestIssuer) => ({ issuer: idp.issuer })],
  ])('100 tokens with random kids (50 concurrent, 50 sequential) cost at most one fetch per cooldown, via %s', async (_name, entry) => {
    const idp = await issuer();
    const rogue = await createTestKey('ES256');
    const stack = await stackFor([{ ...entry(idp), jwksCooldown: '500ms' }]);
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign() }));
    expect(idp.requests.jwks).toBe(1);
    const tokens = await randomKidTokens(idp, rogue, 100);
    stack.resetReceived();
    await sleep(550); // past the cooldown: an unknown kid may now cause exactly one refetch

    const started = performance.now();
    const concurrent = await Promise.all(tokens.slice(0, 50).map((token) => stack.query(QUERY, { token })));
    for (const result of concurrent) expectRefused(stack, result, INVALID);
    for (const token of tokens.slice(50)) expectRefused(stack, await stack.query(QUERY, { token }), INVALID);
    const elapsed = performance.now() - started;

    const extra = idp.requests.jwks - 1;
    expect(extra).toBeGreaterThanOrEqual(1); // the unknown kid was looked up, once
    expect(extra).toBeLessThanOrEqual(1 + Math.floor(elapsed / 500));
    expect(idp.requests.discovery).toBeLessThanOrEqual(1);
    // The gateway still serves valid tokens.
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign() }));
  });

  it('a sustained flood over many cooldowns: fetches bounded by elapsed time / cooldown, not by requests', async () => {
    const idp = await issuer();
    const rogue = await createTestKey('ES256');
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl, jwksCooldown: '100ms' }]);
    const tokens = await randomKidTokens(idp, rogue, 400);
    const started = performance.now();
    let sent = 0;
    // At least 600 ms and at least 50 requests, whichever takes longer (a loaded machine sends fewer per ms).
    while ((performance.now() - started < 600 || sent < 50) && sent < tokens.length) {
      const batch = tokens.slice(sent, sent + 10);
      sent += batch.length;
      for (const result of await Promise.all(batch.map((token) => stack.query(QUERY, { token })))) expectRefused(stack, result, INVALID);
    }
    const elapsed = performance.now() - started;
    expect(sent).toBeGreaterThanOrEqual(50);
    // The first request fetches cold; then at most one refetch per 100 ms.
    expect(idp.requests.jwks).toBeLessThanOrEqual(2 + Math.floor(elapsed / 100));
    expect(idp.requests.jwks).toBeLessThan(sent / 4);
  });
});

describe('one fetch is shared by every waiting request', () => {
  it.each([
    ['a jwks URL', (idp: TestIssuer) => ({ issuer: idp.issuer, jwks: idp.jwksUrl })],
    ['OIDC discovery', (idp: TestIssuer) => ({ issuer: idp.issuer })],
  ])('20 concurrent cold-start requests with distinct valid tokens share one fetch, via %s', async (name, entry) => {
    const idp = await issuer();
    const stack = await stackFor([entry(idp)]);
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => idp.sign({ sub: `user-${i}` })));
    const results = await Promise.all(tokens.map((token) => stack.query(QUERY, { token })));
    for (const result of results) {
      expect(result.body.errors).toBeUndefined();
      expect(result.status).toBe(200);
    }
    expect(stack.subgraphs.products.received).toHaveLength(20);
    expect(idp.requests.jwks).toBe(1);
    expect(idp.requests.discovery).toBe(name === 'OIDC discovery' ? 1 : 0);
  });

  it('after a rotation, 20 concurrent requests with the new kid are all accepted with one fetch', async () => {
    const idp = await issuer();
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl, jwksCooldown: '100ms' }]);
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign() }));
    const fresh = await idp.rotate(true);
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => idp.sign({ sub: `user-${i}` }, { key: fresh })));
    await sleep(120); // past the cooldown
    const results = await Promise.all(tokens.map((token) => stack.query(QUERY, { token })));
    expect(results.map((result) => result.status)).toEqual(Array(20).fill(200));
    expect(idp.requests.jwks).toBe(2);
  });
});

describe('identity provider down at cold start: 503 AUTH_UNAVAILABLE with Retry-After, fast, no subgraph', () => {
  it('a hanging JWKS endpoint is cut off at jwksTimeout; later requests fail fast until the retry window ends', async () => {
    const idp = await issuer();
    idp.mode = 'hang';
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl, jwksTimeout: '300ms', jwksCooldown: '500ms' }]);
    const token = await idp.sign();

    const first = await timed(stack, token);
    expectUnavailable(stack, first.result);
    expect(first.ms).toBeGreaterThanOrEqual(250);
    expect(first.ms).toBeLessThan(1_500);
    expect(idp.requests.jwks).toBe(1);

    // Within the retry window: answered at once, without asking the provider again.
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => timed(stack, token)));
    for (const { result, ms } of concurrent) {
      expectUnavailable(stack, result);
      expect(ms).toBeLessThan(150);
    }
    expect(idp.requests.jwks).toBe(1);

    // The provider is back: after the window the next request fetches and succeeds.
    idp.mode = 'ok';
    await sleep(550);
    expectAccepted(stack, await stack.query(QUERY, { token }));
    expect(idp.requests.jwks).toBe(2);
  });

  it('concurrent cold requests while the provider hangs share the one attempt', async () => {
    const idp = await issuer();
    idp.mode = 'hang';
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl, jwksTimeout: '300ms' }]);
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => idp.sign({ sub: `user-${i}` })));
    const started = performance.now();
    const results = await Promise.all(tokens.map((token) => stack.query(QUERY, { token })));
    expect(performance.now() - started).toBeLessThan(1_500);
    for (const result of results) expectUnavailable(stack, result);
    expect(idp.requests.jwks).toBe(1);
  });

  it('a refused connection is a 503 at once', async () => {
    const idp = await issuer();
    idp.mode = 'down';
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl }]);
    const { result, ms } = await timed(stack, await idp.sign());
    expectUnavailable(stack, result);
    expect(ms).toBeLessThan(500);
  });

  it('discovery at a port nothing listens on is a 503 at once', async () => {
    const port = await closedPort();
    const idp = await issuer();
    const stack = await stackFor([{ issuer: `http://127.0.0.1:${port}` }]);
    const token = await idp.sign({ iss: `http://127.0.0.1:${port}` });
    const { result, ms } = await timed(stack, token);
    expectUnavailable(stack, result);
    expect(ms).toBeLessThan(500);
  });
});

describe('after warm-up, with the provider down, cached keys keep working and unknown kids fail fast', () => {
  it.each(['down', 'hang'] as const)('provider %s', async (mode) => {
    const idp = await issuer();
    const rogue = await createTestKey('ES256');
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl, jwksTimeout: '300ms', jwksCooldown: '1s', jwksMaxAge: '200ms' }]);
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign() }));
    idp.mode = mode;
    await sleep(250); // keys are now stale: the next request waits for a refresh, at most one jwksTimeout

    // Distinct tokens, so the verification cache cannot answer for the key set. The first request past
    // jwksMaxAge waits for the refresh (a removed key must stop verifying); once it has failed, the stale
    // keys answer at once (stale-while-error).
    for (let i = 0; i < 5; i++) {
      const { result, ms } = await timed(stack, await idp.sign({ sub: `user-${i}` }));
      expectAccepted(stack, result, `user-${i}`);
      expect(ms).toBeLessThan(i === 0 ? 300 + 300 : 200);
    }
    expect(idp.requests.jwks).toBeGreaterThanOrEqual(2); // the background refresh was attempted

    // An unknown kid cannot be decided while the provider is down: 503, never "invalid token", and fast
    // (at most one jwksTimeout for a request that joins a hanging refresh, then at once).
    stack.resetReceived();
    const unknown = await randomKidTokens(idp, rogue, 6);
    const first = await timed(stack, unknown[0]!);
    expectUnavailable(stack, first.result);
    expect(first.ms).toBeLessThan(1_000);
    const fetchesBefore = idp.requests.jwks;
    for (const token of unknown.slice(1)) {
      const { result, ms } = await timed(stack, token);
      expectUnavailable(stack, result);
      expect(ms).toBeLessThan(150);
    }
    expect(idp.requests.jwks - fetchesBefore).toBeLessThanOrEqual(1);
    // And cached keys still work.
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign({ sub: 'after' }) }), 'after');
  });
});

describe('a broken key set is 503, never 500 and never "invalid token"', () => {
  const huge = JSON.stringify({ keys: [{ kty: 'oct', k: 'A'.repeat(300 * 1024) }] });
  const junk: Array<[string, TestIssuer['mode']]> = [
    ['not JSON', { status: 200, body: '<html>maintenance</html>' }],
    ['JSON without keys', { status: 200, body: '{"issuer":"x"}' }],
    ['keys not an array', { status: 200, body: '{"keys":"x"}' }],
    ['keys of numbers', { status: 200, body: '{"keys":[1,2]}' }],
    ['a JSON array', { status: 200, body: '[]' }],
    ['JSON null', { status: 200, body: 'null' }],
    ['an empty key set', { status: 200, body: '{"keys":[]}' }],
    ['HTTP 500', { status: 500, body: '{"keys":[]}' }],
    ['HTTP 404', { status: 404, body: 'not found' }],
    ['a redirect (never followed)', { status: 302, body: '' }],
    ['a chunked body over 256 KiB', { status: 200, body: huge }],
  ];

  it('each junk answer in turn, at cold start', async () => {
    // One gateway for all of them: it never gets a good key set, so each attempt is a cold one; the
    // 100 ms cooldown is also the retry window after a failed cold fetch.
    const idp = await issuer();
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl, jwksCooldown: '100ms' }]);
    const token = await idp.sign();
    for (const [name, mode] of junk) {
      idp.mode = mode;
      await sleep(110);
      const fetches = idp.requests.jwks;
      const { result, ms } = await timed(stack, token);
      expect.soft(result.status, name).toBe(503);
      expectUnavailable(stack, result);
      expect(ms).toBeLessThan(1_000);
      expect(idp.requests.jwks, `${name}: the junk was really fetched`).toBe(fetches + 1);
    }
    // Control: once the key set is good, the same token is accepted.
    idp.mode = 'ok';
    await sleep(110);
    expectAccepted(stack, await stack.query(QUERY, { token }));
  });

  it('a body over 256 KiB with a declared content-length', async () => {
    const idp = await issuer();
    const server: CountingServer = await startCountingServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(huge) });
      res.end(huge);
    });
    cleanups.push(() => server.close());
    const stack = await stackFor([{ issuer: idp.issuer, jwks: `${server.url}/jwks` }]);
    expectUnavailable(stack, (await timed(stack, await idp.sign())).result);
    expect(server.requests).toBe(1);
  });

  it('an empty key set after warm-up does not wipe the keys that work', async () => {
    const idp = await issuer();
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl, jwksMaxAge: '100ms', jwksCooldown: '100ms' }]);
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign() }));
    idp.mode = { status: 200, body: '{"keys":[]}' };
    await sleep(150);
    for (let i = 0; i < 3; i++) {
      expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign({ sub: `user-${i}` }) }), `user-${i}`);
      await sleep(60);
    }
    expect(idp.requests.jwks).toBeGreaterThanOrEqual(2);
  });
});

describe('no credential and anonymous access off', () => {
  it.each([
    ['the default realm', {}, 'frontdesk'],
    ['a configured realm', { realm: 'shop' }, 'shop'],
  ])('401 with a challenge without error, %s', async (_name, auth, realm) => {
    const idp = await issuer();
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl }], { anonymous: false, ...auth });
    const result = await stack.query(QUERY);
    expect(result.status).toBe(401);
    expect(result.headers.get('www-authenticate')).toBe(`Bearer realm="${realm}"`);
    expect(result.body).toEqual({ errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] });
    expectNoSubgraphCalled(stack);
    expect(idp.requests.jwks).toBe(0);
    // Control: a valid token is accepted by the same gateway.
    expectAccepted(stack, await stack.query(QUERY, { token: await idp.sign() }));
  });

  it('uses the shared refusal helper too (default realm)', async () => {
    const idp = await issuer();
    const stack = await stackFor([{ issuer: idp.issuer, jwks: idp.jwksUrl }], { anonymous: false });
    expectRefused(stack, await stack.query(QUERY), { description: 'Authentication required' });
  });
});

afterAll(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});
