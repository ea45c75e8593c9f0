/**
 * Request limits: each refusal is a 400 (413/415 for the HTTP envelope) with a clear code, before any
 * subgraph is called.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../support/stack.ts';

describe('request limits', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ config: { limits: { depth: 5, aliases: 3, tokens: 200, directives: 4, cost: 400, bodyBytes: 4096 } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const refused = async (body: unknown, status: number, code: string, message: RegExp, headers?: Record<string, string>) => {
    stack.resetReceived();
    const result = await stack.query(body, headers ? { headers } : {});
    expect(result.status).toBe(status);
    expect(result.body.errors?.[0]?.extensions?.code).toBe(code);
    expect(result.body.errors?.[0]?.message).toMatch(message);
    expect(result.body.data).toBeUndefined();
    for (const subgraph of Object.values(stack.subgraphs)) expect(subgraph.received).toEqual([]);
  };

  it('accepts an operation within every limit (the control case)', async () => {
    const result = await stack.query({ query: '{ a: topProducts(first: 1) { name reviews { rating } } }' });
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
  });

  it('refuses depth over the limit', async () => {
    await refused({ query: '{ topProducts { reviews { author { reviews { product { reviews { id } } } } } } }' }, 400, 'GRAPHQL_VALIDATION_FAILED', /depth limit of 5 exceeded/i);
  });

  it('refuses too many aliases, also hidden in fragments', async () => {
    await refused({ query: '{ a: topProducts { upc } b: topProducts { upc } c: topProducts { upc } d: topProducts { upc } }' }, 400, 'GRAPHQL_VALIDATION_FAILED', /aliases limit of 3 exceeded/i);
    await refused({ query: '{ ...F } fragment F on Query { a: product(upc: "p1") { n1: name n2: name n3: name } }' }, 400, 'GRAPHQL_VALIDATION_FAILED', /aliases limit of 3 exceeded/i);
  });

  it('refuses documents with too many parser tokens', async () => {
    await refused({ query: `{ ${Array.from({ length: 120 }, () => 'topProducts { upc }').join(' ')} }` }, 400, 'GRAPHQL_PARSE_FAILED', /Document contains more that 200 tokens/);
  });

  it('refuses too many directives', async () => {
    await refused({ query: '{ topProducts { upc @include(if: true) @include(if: true) @include(if: true) @include(if: true) @include(if: true) } }' }, 400, 'GRAPHQL_VALIDATION_FAILED', /directives limit of 4 exceeded/i);
  });

  it('refuses operations over the cost limit', async () => {
    const fields = 'upc name price inStock reviews { id body rating author { id name username } product { upc name } }';
    await refused({ query: `{ topProducts(first: 100) { ${fields} } t2: product(upc: "p001") { ${fields} } }` }, 400, 'GRAPHQL_VALIDATION_FAILED', /cost limit of 400 exceeded/i);
  });

  it('refuses batched requests while batching is off, bodies over the limit, and non-JSON content types', async () => {
    await refused([{ query: '{ topProducts { upc } }' }, { query: '{ topProducts { upc } }' }], 400, 'BAD_REQUEST', /Batched requests are not accepted/);
    await refused({ query: `{ topProducts { upc } } # ${'x'.repeat(5000)}` }, 413, 'PAYLOAD_TOO_LARGE', /exceeds 4096 bytes/);
    await refused('query={topProducts{upc}}', 415, 'UNSUPPORTED_MEDIA_TYPE', /Content-Type must be application\/json/, { 'content-type': 'application/x-www-form-urlencoded' });
    await refused('{"query":"{ topProducts { upc } }"}', 415, 'UNSUPPORTED_MEDIA_TYPE', /Content-Type must be application\/json/, { 'content-type': 'text/plain' });
  });
});

describe('batching when enabled', () => {
  it('answers up to limits.batchedOperations operations and refuses more', async () => {
    const stack = await startStack({ config: { limits: { batchedOperations: 2 } } });
    try {
      const ok = await fetch(stack.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ query: '{ product(upc: "p001") { name } }' }, { query: '{ product(upc: "p002") { upc } }' }]) });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual([{ data: { product: { name: 'Tiny Kettle' } } }, { data: { product: { upc: 'p002' } } }]);
      const tooMany = await stack.query([{ query: '{ product(upc: "p001") { upc } }' }, { query: '{ product(upc: "p001") { upc } }' }, { query: '{ product(upc: "p001") { upc } }' }]);
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.errors?.[0]?.message).toBe('A batch holds 1 to 2 operations');
    } finally {
      await stack.close();
    }
  });
});
