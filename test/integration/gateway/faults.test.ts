/**
 * Subgraph faults: down, slow, refusing — partial data, an error at the affected path, fast, and nothing
 * of the identity token in what the client sees.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../support/stack.ts';

const stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.close().catch(() => {})));
});

const QUERY = '{ product(upc: "p001") { name price reviews { rating author { username } } } }';

function expectNoIdentityLeak(body: unknown): void {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/); // no JWS
  expect(text).not.toContain('frontdesk-identity');
  expect(text).not.toContain('did not come through the gateway');
}

describe('subgraph faults', () => {
  it('a subgraph that is down: partial data, SUBGRAPH_UNAVAILABLE at the affected path', async () => {
    const stack = await startStack();
    stacks.push(stack);
    await stack.subgraphs.accounts.close();
    const result = await stack.query({ query: QUERY });
    expect(result.status).toBe(200);
    const product = (result.body.data as any).product;
    expect(product.name).toBe('Tiny Kettle');
    expect(product.reviews.length).toBeGreaterThan(0);
    expect(product.reviews.every((r: any) => r.author === null || r.author.username === null)).toBe(true);
    expect(result.body.errors?.map((e) => e.extensions?.code)).toContain('SUBGRAPH_UNAVAILABLE');
    expect(result.body.errors?.filter((e) => e.extensions?.code === 'SUBGRAPH_UNAVAILABLE').map((e) => e.path)).toEqual([['product', 'reviews', '@', 'author']]);
    expectNoIdentityLeak(result.body);
    expect(stack.logs.some((l) => l.msg === 'subgraph request failed' && l.subgraph === 'accounts')).toBe(true);
  });

  it('a slow subgraph times out after its configured timeout, and the rest still answers', async () => {
    const slow = await startStack({ config: { subgraphDefaults: { timeout: '300ms' } } });
    stacks.push(slow);
    const server = slow.subgraphs.reviews.server;
    const handlers = server.listeners('request') as Array<(...args: unknown[]) => void>;
    server.removeAllListeners('request');
    server.on('request', (...args: unknown[]) => void setTimeout(() => handlers.forEach((h) => h(...args)), 2_000));
    const started = Date.now();
    const result = await slow.query({ query: '{ product(upc: "p002") { name reviews { rating } } me: product(upc: "p003") { upc } }' });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(result.status).toBe(200);
    // Product.reviews is non-null: the null bubbles to the product, the other root field is untouched.
    expect(result.body.data).toEqual({ product: null, me: { upc: 'p003' } });
    expect(result.body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_UNAVAILABLE');
    expectNoIdentityLeak(result.body);
  });

  it('a subgraph that refuses the identity token: the client sees SUBGRAPH_UNAVAILABLE, the log has why', async () => {
    // Subgraphs that trust another key: every identity token of this gateway is refused with 401.
    const stack = await startStack({ subgraphJwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'other', alg: 'EdDSA' }] } });
    stacks.push(stack);
    const result = await stack.query({ query: '{ product(upc: "p001") { name } }' });
    expect(result.status).toBe(200);
    expect(result.body.data).toEqual({ product: null });
    expect(result.body.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['product'], 'SUBGRAPH_UNAVAILABLE']]);
    expectNoIdentityLeak(result.body);
    expect(stack.subgraphs.products.refusals[0]?.reason).toMatch(/ERR_JWKS_NO_MATCHING_KEY/);
    expect(stack.logs.find((l) => l.msg === 'subgraph answered an error status')).toMatchObject({ subgraph: 'products', status: 401 });
  });
});
