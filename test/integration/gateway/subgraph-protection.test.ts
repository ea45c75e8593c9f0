/**
 * Per-subgraph protection through the whole stack (docs/overload.md): the circuit breaker opens after N
 * consecutive failures, fails fast with partial data, probes once after the cool-down and closes; the
 * concurrency limit holds; identical query fetches of one principal share one fetch — never across
 * principals, never for mutations.
 */
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { holdRequests } from '../../support/hold.ts';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { startStack, type Stack, type StackOptions } from '../../support/stack.ts';

let idp: TestIssuer;
const stacks: Stack[] = [];
beforeAll(async () => {
  idp = await startTestIssuer();
});
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.close().catch(() => {})));
});
afterAll(async () => {
  await idp?.close();
});

async function stack(config: StackOptions['config']): Promise<Stack> {
  const started = await startStack({
    // principalNamespace 'shop': the shop's own accounts (subgraphs/shop), who may write reviews.
    auth: { anonymous: true, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: ['shop-api'], algorithms: ['ES256'], principalNamespace: 'shop' }] },
    config,
  });
  stacks.push(started);
  return started;
}

const USER_QUERY = { query: '{ user(id: "u2") { username } }' };
const codes = (result: Awaited<ReturnType<Stack['query']>>) => result.body.errors?.map((e) => e.extensions?.code);

describe('circuit breaker', () => {
  it('opens after N consecutive failures: fails fast with partial data, probes once after the cool-down, closes on success', async () => {
    const s = await stack({ subgraphDefaults: { breaker: { failures: 3, coolDown: '500ms' } } });
    const accounts = holdRequests(s.subgraphs.accounts.server);
    accounts.answerWith((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"message":"down"}]}'));

    for (let i = 0; i < 3; i++) expect(codes(await s.query(USER_QUERY))).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(accounts.arrived).toBe(3);
    expect(s.overloadEvents).toContainEqual({ type: 'breaker', subgraph: 'accounts', state: 'open' });
    expect(s.logs.find((l) => l.msg.startsWith('subgraph circuit breaker open'))).toMatchObject({ level: 'warn', subgraph: 'accounts', state: 'open' });

    // Open: no fetch at all, and the rest of the operation still answers.
    const started = performance.now();
    const fast = await s.query({ query: '{ user(id: "u2") { username } product(upc: "p001") { name } }' });
    expect(performance.now() - started).toBeLessThan(1_000); // the figure is 50 ms, measured by the bench
    expect(fast.status).toBe(200);
    expect(fast.body.data).toEqual({ user: null, product: { name: 'Tiny Kettle' } });
    expect(fast.body.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['user'], 'SUBGRAPH_UNAVAILABLE']]);
    expect(accounts.arrived).toBe(3);

    // After the cool-down one probe goes through; it fails, so the breaker opens again.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(codes(await s.query(USER_QUERY))).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(accounts.arrived).toBe(4);
    expect(codes(await s.query(USER_QUERY))).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(accounts.arrived).toBe(4);

    // The subgraph recovers: the next probe succeeds and closes the breaker.
    accounts.release();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const recovered = await s.query(USER_QUERY);
    expect(recovered.body).toEqual({ data: { user: { username: 'bob' } } });
    expect(s.overloadEvents.filter((e) => e.type === 'breaker').map((e) => (e as { state: string }).state)).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
    expect((await s.query(USER_QUERY)).body.errors).toBeUndefined();
  });

  it('a subgraph that does not answer in time counts as failing', async () => {
    const s = await stack({ subgraphDefaults: { timeout: '150ms', breaker: { failures: 2, coolDown: '10s' } } });
    const accounts = holdRequests(s.subgraphs.accounts.server);
    for (let i = 0; i < 2; i++) expect(codes(await s.query(USER_QUERY))).toEqual(['SUBGRAPH_UNAVAILABLE']);
    await accounts.until((h) => h.aborted === 2);
    expect(s.overloadEvents).toContainEqual({ type: 'breaker', subgraph: 'accounts', state: 'open' });
    const started = performance.now();
    expect(codes(await s.query(USER_QUERY))).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(performance.now() - started).toBeLessThan(150 + 1_000);
    expect(accounts.arrived).toBe(2);
    accounts.release();
  });
});

describe('concurrency limit per subgraph', () => {
  it('never has more fetches in flight to a subgraph than its limit; the others wait their turn and are answered', async () => {
    const s = await stack({ subgraphs: { products: { concurrency: 2 } }, subgraphDefaults: { queueTimeout: '10s' } });
    const products = holdRequests(s.subgraphs.products.server, { delayMs: 100 });
    products.release();
    const upcs = ['p001', 'p002', 'p003', 'p004', 'p005', 'p001', 'p002'];
    const results = await Promise.all(upcs.map((upc, i) => s.query({ query: `{ product(upc: "${upc}") { name a${i}: upc } }` })));
    expect(results.every((r) => r.status === 200 && r.body.errors === undefined)).toBe(true);
    expect(products.arrived).toBe(upcs.length);
    expect(products.maxOpen).toBe(2);
  });

  it('a subgraph that stalls holds only its limit: a fetch that cannot get a slot within queueTimeout fails at once, the rest of the operation answers', async () => {
    const s = await stack({ subgraphs: { reviews: { concurrency: 1 } }, subgraphDefaults: { queueTimeout: '100ms' } });
    const reviews = holdRequests(s.subgraphs.reviews.server);
    const stalled = s.query({ query: '{ product(upc: "p001") { reviews { rating } } }' });
    await reviews.until((h) => h.arrived === 1);
    const started = performance.now();
    const result = await s.query({ query: '{ product(upc: "p002") { name reviews { rating } } other: product(upc: "p003") { name } }' });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result.body.data).toEqual({ product: null, other: { name: expect.any(String) } });
    expect(codes(result)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(reviews.arrived).toBe(1);
    reviews.release();
    expect((await stalled).body.errors).toBeUndefined();
    expect(s.overloadEvents.filter((e) => e.type === 'breaker')).toEqual([]); // one failure, below breaker.failures (5)
  });

  it('subgraphs.<name>.queueTimeout overrides the default for that subgraph only', async () => {
    const s = await stack({ subgraphs: { reviews: { concurrency: 1, queueTimeout: '100ms' }, products: { concurrency: 1 } }, subgraphDefaults: { queueTimeout: '1m' } });
    const reviews = holdRequests(s.subgraphs.reviews.server);
    const stalled = s.query({ query: '{ product(upc: "p001") { reviews { rating } } }' });
    await reviews.until((h) => h.arrived === 1);
    const started = performance.now();
    const result = await s.query({ query: '{ product(upc: "p002") { reviews { rating } } }' });
    expect(performance.now() - started).toBeLessThan(2_000); // its own 100 ms, not the default's minute
    expect(codes(result)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    reviews.release();
    expect((await stalled).body.errors).toBeUndefined();
  });

  it('when the breaker opens, an operation whose fetch is stuck in flight answers at once with partial data, and the subgraph sees the abort', async () => {
    const s = await stack({ subgraphs: { reviews: { concurrency: 1 } }, subgraphDefaults: { queueTimeout: '100ms', timeout: '30s', breaker: { failures: 2, coolDown: '30s' } } });
    const reviews = holdRequests(s.subgraphs.reviews.server);
    const started = performance.now();
    const stalled = s.query({ query: '{ product(upc: "p001") { name reviews { rating } } other: product(upc: "p005") { name } }' });
    await reviews.until((h) => h.arrived === 1);
    // Two fetches find no slot and no progress within queueTimeout: the stall is learned, the breaker opens.
    for (const upc of ['p002', 'p003']) await s.query({ query: `{ product(upc: "${upc}") { reviews { rating } } }` });
    expect(s.overloadEvents).toContainEqual({ type: 'breaker', subgraph: 'reviews', state: 'open' });
    const result = await stalled;
    expect(performance.now() - started).toBeLessThan(5_000); // not the 30 s subgraph timeout
    expect(result.status).toBe(200);
    expect(result.body.data).toEqual({ product: null, other: { name: expect.any(String) } }); // reviews is non-null
    expect(codes(result)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    await reviews.until((h) => h.aborted === 1);
    reviews.release();
  });

  it('a subgraph that makes no progress while every slot waits opens its breaker within the slot wait, not the subgraph timeout', async () => {
    const s = await stack({ subgraphs: { reviews: { concurrency: 1 } }, subgraphDefaults: { queueTimeout: '100ms', timeout: '30s', breaker: { failures: 2, coolDown: '30s' } } });
    const reviews = holdRequests(s.subgraphs.reviews.server);
    const stalled = s.query({ query: '{ product(upc: "p001") { reviews { rating } } }' });
    await reviews.until((h) => h.arrived === 1);
    for (const upc of ['p002', 'p003']) expect(codes(await s.query({ query: `{ product(upc: "${upc}") { reviews { rating } } }` }))).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(s.overloadEvents).toContainEqual({ type: 'breaker', subgraph: 'reviews', state: 'open' });
    const started = performance.now();
    expect(codes(await s.query({ query: '{ product(upc: "p004") { reviews { rating } } }' }))).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(reviews.arrived).toBe(1);
    reviews.release();
    await stalled;
  });
});

describe('deduplication of identical fetches in flight', () => {
  it('identical queries of one principal share one fetch; another principal gets its own; each sees its own answer', async () => {
    const s = await stack({});
    const [alice, bob] = await Promise.all([idp.sign({ sub: 'u1', scope: 'products:read' }), idp.sign({ sub: 'u2', scope: 'products:read' })]);
    const products = holdRequests(s.subgraphs.products.server);
    s.resetReceived();
    const query = { query: '{ product(upc: "p001") { name price } }' };
    const requests = [alice, alice, alice, bob, bob, bob].map((token) => s.query(query, { token }));
    // Two fetches (one per principal) reach the subgraph; the four others join them.
    await products.until((h) => h.arrived === 2);
    await until(() => s.overloadEvents.filter((e) => e.type === 'fetch shared').length === 4);
    products.release();
    const results = await Promise.all(requests);
    for (const result of results) expect(result.body).toEqual({ data: { product: { name: 'Tiny Kettle', price: expect.any(Number) } } });
    expect(products.arrived).toBe(2);
    const subjects = s.subgraphs.products.received.map((r) => decodeJwt(r.headers['frontdesk-identity'] as string).sub).sort();
    expect(subjects).toEqual(['u1', 'u2']);
  });

  it('the same principal with another forwarded header (accept-language) does not share', async () => {
    const s = await stack({});
    const products = holdRequests(s.subgraphs.products.server);
    const query = { query: '{ product(upc: "p001") { name } }' };
    const requests = ['fr', 'de'].map((language) => s.query(query, { headers: { 'accept-language': language } }));
    await products.until((h) => h.arrived === 2);
    products.release();
    expect((await Promise.all(requests)).map((r) => r.status)).toEqual([200, 200]);
    expect(s.overloadEvents.filter((e) => e.type === 'fetch shared')).toEqual([]);
  });

  it('identical mutations of one principal are never shared: each makes its own fetch', async () => {
    const s = await stack({});
    const writer = await idp.sign({ sub: 'u2', scope: 'products:read reviews:write' });
    const reviews = holdRequests(s.subgraphs.reviews.server);
    const mutation = { query: 'mutation { createReview(upc: "p001", body: "twice", rating: 4) { body rating } }' };
    const requests = [s.query(mutation, { token: writer }), s.query(mutation, { token: writer })];
    await reviews.until((h) => h.arrived === 2);
    reviews.release();
    const results = await Promise.all(requests);
    for (const result of results) expect(result.body.data).toEqual({ createReview: { body: 'twice', rating: 4 } });
    expect(s.overloadEvents.filter((e) => e.type === 'fetch shared')).toEqual([]);
  });

  it('a waiter that leaves does not cancel the fetch the others share', async () => {
    const s = await stack({});
    const products = holdRequests(s.subgraphs.products.server);
    const body = JSON.stringify({ query: '{ product(upc: "p002") { name } }' });
    const leaving = new AbortController();
    const first = fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: leaving.signal });
    await products.until((h) => h.arrived === 1);
    const staying = s.query(JSON.parse(body));
    await until(() => s.overloadEvents.some((e) => e.type === 'fetch shared'));
    leaving.abort();
    await expect(first).rejects.toThrow();
    products.release();
    const result = await staying;
    expect(result.body.errors).toBeUndefined();
    expect((result.body.data?.product as { name: string }).name).toBeTruthy();
    expect(products.aborted).toBe(0);
  });
});

/** A bounded wait for a condition the gateway reaches on its own. */
async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
