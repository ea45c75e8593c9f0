/**
 * An operator scrapes /metrics on the metrics listener (never the public port) and sees requests by
 * status class and outcome, authentication decisions by method, issuer and result, cache hits and misses,
 * key set fetches, identity tokens minted, subgraph fetch and operation durations, and process metrics —
 * with no label a client controls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdRequests } from '../../support/hold.ts';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { startStack, type Stack } from '../../support/stack.ts';
import { parseMetrics, sample, startObservedGateway, type ObservedGateway } from './support.ts';

let stack: Stack;
let idp: TestIssuer;
let observed: ObservedGateway;

beforeAll(async () => {
  idp = await startTestIssuer();
  stack = await startStack();
  observed = await startObservedGateway(stack, {
    auth: { anonymous: true, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: [idp.audience] }] },
    metrics: { listen: { host: '127.0.0.1', port: 0 } },
  });
});

afterAll(async () => {
  await observed?.gateway.close();
  await stack?.close();
  await idp?.close();
});

const scrape = async () => {
  const response = await fetch(observed.gateway.metricsUrl as string);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { text, samples: parseMetrics(text) };
};

describe('GET /metrics on the metrics listener', () => {
  it('is served on its own port, and not on the public one', async () => {
    expect(new URL(observed.gateway.metricsUrl as string).port).not.toBe(new URL(observed.gateway.url).port);
    expect((await fetch(`${observed.gateway.url}/metrics`)).status).toBe(404);
    expect((await fetch((observed.gateway.metricsUrl as string).replace('/metrics', '/other'))).status).toBe(404);
  });

  it('counts what the gateway did, by bounded labels only', async () => {
    const before = (await scrape()).samples;
    const token = await idp.sign({ sub: 'subject-alice-7' });
    const crossSubgraph = { query: '{ topProducts(first: 2) { upc reviews { rating author { username } } } }' };
    expect((await observed.query(crossSubgraph, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await observed.query(crossSubgraph, { authorization: `Bearer ${token}` })).status).toBe(200); // cached
    expect((await observed.query({ query: '{ topProducts(first: 1) { upc } }' })).status).toBe(200); // anonymous
    const expired = await idp.sign({ sub: 'subject-bob-8', iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 60 });
    expect((await observed.query(crossSubgraph, { authorization: `Bearer ${expired}` })).status).toBe(401);
    const foreign = await (await startTestIssuer()).sign({ sub: 'x' }); // an issuer that is not configured
    expect((await observed.query(crossSubgraph, { authorization: `Bearer ${foreign}` })).status).toBe(401);
    expect((await observed.query({ query: '{ nope }' })).status).toBe(400);

    const { text, samples } = await scrape();
    const delta = (name: string, labels: Record<string, string>) => sample(samples, name, labels) - sample(before, name, labels);

    expect(delta('frontdesk_http_requests_total', { route: 'graphql', status_class: '2xx', outcome: 'ok' })).toBe(3);
    expect(delta('frontdesk_http_requests_total', { route: 'graphql', status_class: '4xx', outcome: 'refused' })).toBe(2);
    expect(delta('frontdesk_http_requests_total', { route: 'graphql', status_class: '4xx', outcome: 'rejected' })).toBe(1);
    expect(delta('frontdesk_http_request_duration_seconds_count', { route: 'graphql' })).toBe(6);

    expect(delta('frontdesk_auth_decisions_total', { method: 'jwt', issuer: idp.issuer, result: 'accepted' })).toBe(2);
    expect(delta('frontdesk_auth_decisions_total', { method: 'anonymous', issuer: 'none', result: 'anonymous' })).toBe(2);
    expect(delta('frontdesk_auth_decisions_total', { method: 'jwt', issuer: idp.issuer, result: 'expired' })).toBe(1);
    // The unconfigured issuer a client named is not a label value.
    expect(delta('frontdesk_auth_decisions_total', { method: 'jwt', issuer: 'other', result: 'invalid' })).toBe(1);

    expect(delta('frontdesk_auth_cache_lookups_total', { result: 'hit' })).toBe(1);
    // A miss is a signature verification: the token, the expired one, and the foreign issuer's (refused before any key is used).
    expect(delta('frontdesk_auth_cache_lookups_total', { result: 'miss' })).toBe(3);
    expect(delta('frontdesk_key_set_fetches_total', { issuer: idp.issuer, result: 'ok' })).toBe(1);

    // Each cross-subgraph query is three fetches (products → reviews → accounts), each with its own token.
    for (const subgraph of ['reviews', 'accounts']) {
      expect(delta('frontdesk_identity_tokens_minted_total', { subgraph })).toBe(2);
      expect(delta('frontdesk_subgraph_fetch_duration_seconds_count', { subgraph, result: 'ok' })).toBe(2);
    }
    expect(delta('frontdesk_identity_tokens_minted_total', { subgraph: 'products' })).toBe(3);
    expect(delta('frontdesk_graphql_operation_duration_seconds_count', { operation_type: 'query' })).toBe(3);
    expect(sample(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

    // No subject, token or client-chosen issuer reaches a label.
    for (const secret of ['subject-alice-7', 'subject-bob-8', token.slice(-20), expired.slice(-20)]) expect(text).not.toContain(secret);
  });

  it('counts subgraph failures by result', async () => {
    const before = (await scrape()).samples;
    const saved = stack.stores.products.topProducts;
    stack.stores.products.topProducts = async () => {
      throw new Error('db down');
    };
    try {
      await observed.query({ query: '{ topProducts(first: 1) { upc } }' });
    } finally {
      stack.stores.products.topProducts = saved;
    }
    await new Promise<void>((resolve) => stack.subgraphs.accounts.server.close(() => resolve()));
    stack.subgraphs.accounts.server.closeAllConnections();
    const partial = await observed.query({ query: '{ topProducts(first: 1) { upc reviews { author { username } } } }' });
    expect(partial.status).toBe(200);
    const { samples } = await scrape();
    const delta = (name: string, labels: Record<string, string>) => sample(samples, name, labels) - sample(before, name, labels);
    expect(delta('frontdesk_subgraph_fetch_duration_seconds_count', { subgraph: 'products', result: 'graphql_error' })).toBe(1);
    expect(delta('frontdesk_subgraph_fetch_duration_seconds_count', { subgraph: 'accounts', result: 'unavailable' })).toBe(1);
    expect(delta('frontdesk_http_requests_total', { route: 'graphql', status_class: '2xx', outcome: 'partial' })).toBe(2);
  });
});

describe('metrics off (the default)', () => {
  it('opens no listener', async () => {
    const plain = await startObservedGateway(stack, {});
    try {
      expect(plain.gateway.metricsUrl).toBeUndefined();
      expect((await fetch(`${plain.gateway.url}/metrics`)).status).toBe(404);
    } finally {
      await plain.gateway.close();
    }
  });
});

describe('overload protection on /metrics', () => {
  it("a subgraph's circuit breaker state is exported as it changes; the admission bound from the start", async () => {
    const own = await startStack();
    const gateway = await startObservedGateway(own, {
      metrics: { listen: { host: '127.0.0.1', port: 0 } },
      subgraphDefaults: { breaker: { failures: 2, coolDown: '30s' } },
      admission: { maxInFlight: 24, eventLoopDelayTarget: '0ms', latencyTolerance: 0 },
    });
    try {
      await own.subgraphs.accounts.close(); // accounts refuses connections from now on
      for (let i = 0; i < 2; i++) expect((await gateway.query({ query: '{ user(id: "u2") { username } }' })).status).toBe(200);
      const samples = parseMetrics(await (await fetch(gateway.gateway.metricsUrl as string)).text());
      expect(sample(samples, 'frontdesk_subgraph_breaker_state', { subgraph: 'accounts', state: 'open' })).toBe(1);
      expect(sample(samples, 'frontdesk_subgraph_breaker_state', { subgraph: 'accounts', state: 'closed' })).toBe(0);
      expect(sample(samples, 'frontdesk_requests_shed_total', { reason: 'queue full' })).toBe(0);
      expect(sample(samples, 'frontdesk_admission_bound_operations', {})).toBe(24);
    } finally {
      await gateway.gateway.close();
      await own.close().catch(() => {});
    }
  });

  it('fetches one caller shares with an identical fetch in flight are counted by subgraph', async () => {
    const own = await startStack();
    const gateway = await startObservedGateway(own, { metrics: { listen: { host: '127.0.0.1', port: 0 } } });
    try {
      const products = holdRequests(own.subgraphs.products.server);
      const query = { query: '{ product(upc: "p001") { name } }' };
      const requests = [0, 1, 2].map(() => gateway.query(query));
      await products.until((held) => held.arrived === 1);
      // The two later requests join the one fetch in flight; give them the time to reach it.
      const deadline = performance.now() + 5_000;
      let shared = 0;
      while (shared < 2 && performance.now() < deadline) {
        shared = sample(parseMetrics(await (await fetch(gateway.gateway.metricsUrl as string)).text()), 'frontdesk_subgraph_fetches_shared_total', { subgraph: 'products' });
        if (shared < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      products.release();
      expect((await Promise.all(requests)).map((response) => response.status)).toEqual([200, 200, 200]);
      expect(products.arrived).toBe(1);
      expect(shared).toBe(2);
    } finally {
      await gateway.gateway.close();
      await own.close().catch(() => {});
    }
  });
});
