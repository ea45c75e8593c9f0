import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type HttpResult, type Stack } from '../support/stack.ts';

describe('the federated shop through the gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers a query spanning all three subgraphs with exact data', async () => {
    const { status, body } = await stack.query({
      query: '{ topProducts(first: 2) { upc name price reviews { id rating author { id username } } } }',
    });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const products = body.data?.topProducts as Array<{ upc: string; name: string; price: number; reviews: Array<{ id: string; rating: number; author: { id: string; username: string } }> }>;
    expect(products.map((p) => p.upc)).toEqual(['p001', 'p002']);
    // Exact seed data: the first product and its newest review.
    expect(products[0]).toMatchObject({ upc: 'p001', name: 'Tiny Kettle', price: 15185 });
    const expectedReviews = (await stack.stores.reviews.findReviewsByUpcs(['p001']))[0]!;
    expect(products[0]!.reviews.map((r) => r.id)).toEqual(expectedReviews.map((r) => r.id));
    const authors = await stack.stores.accounts.findUsersByIds(expectedReviews.map((r) => r.authorId));
    expect(products[0]!.reviews.map((r) => r.author.username)).toEqual(authors.map((u) => u!.username));
    // top products → reviews → authors: one fetch per subgraph
    expect(stack.subgraphs.products.received).toHaveLength(1);
    expect(stack.subgraphs.reviews.received).toHaveLength(1);
    expect(stack.subgraphs.accounts.received).toHaveLength(1);
  });

  it('batches: 100 reviews\' authors cost one data-layer call per type per subgraph request', async () => {
    stack.resetReceived();
    const before = { ...stack.stores.accounts.calls, ...stack.stores.reviews.calls, ...stack.stores.products.calls };
    const { body } = await stack.query({ query: '{ topProducts(first: 30) { upc reviews { id author { username } product { name } } } }' });
    expect(body.errors).toBeUndefined();
    const products = body.data?.topProducts as Array<{ reviews: unknown[] }>;
    const reviewCount = products.reduce((sum, p) => sum + p.reviews.length, 0);
    expect(reviewCount).toBeGreaterThanOrEqual(100);
    const after = { ...stack.stores.accounts.calls, ...stack.stores.reviews.calls, ...stack.stores.products.calls };
    expect(after.findReviewsByUpcs - before.findReviewsByUpcs).toBe(1);
    expect(after.findUsersByIds - before.findUsersByIds).toBe(1);
    // products: topProducts once, then the review → product entity fetch: one batch for all of them
    expect(after.topProducts - before.topProducts).toBe(1);
    expect(after.findProductsByUpcs - before.findProductsByUpcs).toBeLessThanOrEqual(1);
    expect(stack.subgraphs.accounts.received).toHaveLength(1);
    const representations = stack.subgraphs.accounts.received[0]!.body.variables?.representations as unknown[];
    expect(representations.length).toBeGreaterThan(1);
  });

  it('lists users and resolves User.reviews across subgraphs', async () => {
    const { body } = await stack.query({ query: 'query One($id: ID!) { user(id: $id) { username reviews { id } } }', variables: { id: 'u2' } });
    expect(body.errors).toBeUndefined();
    const expected = (await stack.stores.reviews.findReviewsByAuthorIds(['u2']))[0]!;
    expect(body.data?.user).toEqual({ username: 'bob', reviews: expected.map((r) => ({ id: r.id })) });
  });

  it('answers health, readiness and the identity JWKS', async () => {
    const base = stack.url.replace('/graphql', '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' });
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('refuses bodies that are too large, not JSON, or not POST', async () => {
    const big = await stack.query({ query: `{ users { id } }`, padding: 'x'.repeat(1_100_000) });
    expect(big.status).toBe(413);
    expect(big.body.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    const junk = await stack.query('{not json');
    expect(junk.status).toBe(400);
    expect(junk.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    const get = await fetch(stack.url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(((await get.json()) as HttpResult['body']).errors?.[0]?.extensions?.code).toBe('METHOD_NOT_ALLOWED');
    const missing = await fetch(stack.url.replace('/graphql', '/nowhere'));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as HttpResult['body']).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
