/**
 * Issue 11, hole 4: a full replay store must never forget an unexpired `jti`. It fails closed instead:
 * the request is refused with 503 AUTH_UNAVAILABLE and Retry-After (docs/subgraph-guide.md, "Replay
 * protection"), and expired entries are still purged.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANONYMOUS } from '../../../gateway/auth/principal.ts';
import { createIdentityMinter } from '../../../gateway/identity/mint.ts';
import {
  createContextFactory,
  createIdentityVerifier,
  createMemoryReplayStore,
  createSubgraphHandler,
  type ReplayStore,
  type SubgraphContext,
} from '@frontdesk/kit';

const far = (now: number) => new Date(now + 60_000);

describe('a full memory replay store', () => {
  it('never forgets an unexpired jti: a captured token stays refused however many others arrive', () => {
    const now = 1_000_000;
    const store = createMemoryReplayStore({ maxEntries: 100, now: () => now });
    expect(store.remember('captured', far(now))).toBe(true);
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) if (store.remember(`flood-${i}`, far(now)) === true) accepted++;
    expect(accepted).toBe(99);
    expect(store.remember('captured', far(now))).toBe(false);
    expect(store.remember('flood-0', far(now))).toBe(false);
    expect(store.remember('flood-98', far(now))).toBe(false);
  });

  it('answers "full" with the seconds until its first entry expires, and records nothing', () => {
    const now = 1_000_000;
    const store = createMemoryReplayStore({ maxEntries: 2, now: () => now });
    expect(store.remember('a', new Date(now + 30_000))).toBe(true);
    expect(store.remember('b', new Date(now + 10_500))).toBe(true);
    expect(store.remember('c', far(now))).toEqual({ full: true, retryAfterSeconds: 11 });
    // "c" was not recorded: it is still full, not "seen".
    expect(store.remember('c', far(now))).toEqual({ full: true, retryAfterSeconds: 11 });
  });

  it('still purges expired entries, wherever they sit, and then has room again', () => {
    let now = 1_000_000;
    const store = createMemoryReplayStore({ maxEntries: 3, now: () => now });
    expect(store.remember('long', new Date(now + 60_000))).toBe(true);
    expect(store.remember('short-1', new Date(now + 1_000))).toBe(true);
    expect(store.remember('short-2', new Date(now + 1_000))).toBe(true);
    expect(store.remember('new', far(now))).toMatchObject({ full: true });
    now += 1_000;
    // Both short entries expired behind an unexpired one: purged, so two new jtis fit, a third does not.
    expect(store.remember('new', far(now))).toBe(true);
    expect(store.remember('new-2', far(now))).toBe(true);
    expect(store.remember('new-3', far(now))).toMatchObject({ full: true });
    expect(store.remember('long', far(now))).toBe(false);
  });
});

describe('the subgraph behind a flooded replay store', () => {
  const issuer = 'https://gateway.test';
  let jwks: JSONWebKeySet;
  let mint: ReturnType<typeof createIdentityMinter>;
  const servers: Array<{ server: Server; apollo: ApolloServer<SubgraphContext> }> = [];

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA');
    jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }] };
    mint = createIdentityMinter({ issuer, key: { kid: 'k1', alg: 'EdDSA', privateKey }, ttlMs: 60_000 });
  });
  afterAll(async () => {
    for (const { server, apollo } of servers) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await apollo.stop();
    }
  });

  async function subgraph(replay: ReplayStore): Promise<string> {
    const apollo = new ApolloServer<SubgraphContext>({ typeDefs: 'type Query { ping: String }', resolvers: { Query: { ping: () => 'pong' } } });
    await apollo.start();
    const verifier = createIdentityVerifier({ subgraph: 'accounts', issuer, jwks, replay });
    const context = createContextFactory({ verifier, loaders: () => ({}) });
    const server = createServer(createSubgraphHandler({ server: apollo, context }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ server, apollo });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  }

  const body = { query: '{ ping }', operationName: null, variables: {} };
  async function post(url: string, token: string) {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'frontdesk-identity': token }, body: JSON.stringify(body) });
    const json = (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    return { status: response.status, retryAfter: response.headers.get('retry-after'), code: json.errors?.[0]?.extensions?.code, message: json.errors?.[0]?.message, data: json.data };
  }

  it('refuses new tokens with 503 AUTH_UNAVAILABLE and Retry-After, and still refuses the captured one', async () => {
    const url = await subgraph(createMemoryReplayStore({ maxEntries: 3 }));
    const captured = await mint(ANONYMOUS, 'accounts', body);
    expect(await post(url, captured)).toMatchObject({ status: 200, data: { ping: 'pong' } });
    for (let i = 0; i < 2; i++) expect((await post(url, await mint(ANONYMOUS, 'accounts', body))).status).toBe(200);

    const flood = await post(url, await mint(ANONYMOUS, 'accounts', body));
    expect(flood).toMatchObject({ status: 503, code: 'AUTH_UNAVAILABLE', message: 'Identity verification is temporarily unavailable' });
    expect(Number(flood.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(flood.retryAfter)).toBeLessThanOrEqual(66); // the entries expire with their tokens: ttl + tolerance

    const replayed = await post(url, captured);
    expect(replayed).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('a custom store that throws, or answers anything but true, false or full, fails closed with 503', async () => {
    const answers: Array<() => unknown> = [
      () => { throw new Error('redis: connection refused'); },
      () => Promise.reject(new Error('redis: timeout')),
      () => undefined,
      () => 'yes',
      () => ({ full: 'no' }),
    ];
    for (const answer of answers) {
      const url = await subgraph({ remember: answer as ReplayStore['remember'] });
      const result = await post(url, await mint(ANONYMOUS, 'accounts', body));
      expect(result).toMatchObject({ status: 503, code: 'AUTH_UNAVAILABLE' });
      expect(result.message).not.toMatch(/redis/);
      expect(result.retryAfter).toBe('5');
    }
  });
});
