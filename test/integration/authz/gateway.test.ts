/**
 * The gateway's own check of @authenticated and @requiresScopes (gateway/authz), in the example shop:
 * denied fields are answered by the gateway and never requested from a subgraph, with the errors the kit
 * would give; and the kit still enforces everything when the gateway does not know the rules.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, visit } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../../dev/users.ts';
import { readAuthorizationRules } from '../../../gateway/authz/index.ts';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { startStack, SUPERGRAPH, type HttpResult, type Stack } from '../../support/stack.ts';

type User = keyof typeof DEMO_USERS | 'anonymous';

const codes = (result: HttpResult) => (result.body.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.code]);
/** Every query the subgraphs received, per subgraph. */
const receivedQueries = (stack: Stack) => Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.received.map((r) => r.body.query)]));
const allReceived = (stack: Stack) => Object.values(stack.subgraphs).flatMap((s) => s.received.map((r) => r.body.query));
/** Names of the fields (not aliases) the subgraphs were asked for. */
const fieldsRequested = (stack: Stack) => {
  const names = new Set<string>();
  for (const query of allReceived(stack)) visit(parse(query), { Field: (node) => void names.add(node.name.value) });
  return names;
};

/**
 * The shop's supergraph without its @link to the authz spec: the directives are still applied, but the
 * gateway does not read unlinked directives, so it knows no rules and only the kit enforces.
 */
function supergraphWithoutRules(): string {
  const sdl = readFileSync(SUPERGRAPH, 'utf8').replace(/\n\s*@link\(url: "https:\/\/specs\.frontdesk\.dev\/authz\/v0\.1"[^\n]*/, '');
  const rules = readAuthorizationRules(sdl);
  expect([rules.types.size, rules.fields.size]).toEqual([0, 0]);
  const path = join(mkdtempSync(join(tmpdir(), 'frontdesk-authz-')), 'supergraph.graphql');
  writeFileSync(path, sdl);
  return path;
}

describe('gateway-side authorization in the example shop', () => {
  let idp: TestIssuer;
  let stack: Stack;
  /** The same subgraphs behind a gateway whose supergraph carries no rules: only the kit enforces. */
  let kitOnly: Stack;
  const tokens = {} as Record<User, string | undefined>;

  beforeAll(async () => {
    idp = await startTestIssuer();
    const auth = { anonymous: true, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: ['shop-api'], algorithms: ['ES256'], principalNamespace: 'shop' }] };
    stack = await startStack({ auth });
    kitOnly = await startStack({ auth, config: { supergraph: supergraphWithoutRules() } });
    for (const [name, user] of Object.entries(DEMO_USERS)) tokens[name as User] = await idp.sign({ sub: user.sub, scope: user.scope, roles: user.roles });
  });
  afterAll(async () => {
    await stack?.close();
    await kitOnly?.close();
    await idp?.close();
  });

  const run = (on: Stack, user: User, query: string, variables?: Record<string, unknown>): Promise<HttpResult> => {
    on.resetReceived();
    return on.query({ query, variables }, tokens[user] === undefined ? {} : { token: tokens[user] });
  };

  it('answers a denied field null with the kit\'s error at its path, and never asks the subgraph for it', async () => {
    const query = '{ product(upc: "p001") { name costPrice } }';
    for (const user of ['anonymous', 'bob'] as const) {
      const result = await run(stack, user, query);
      expect(result.status).toBe(200);
      expect(result.body.data).toEqual({ product: { name: 'Tiny Kettle', costPrice: null } });
      const code = user === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN';
      const message = user === 'anonymous' ? 'Authentication required to access Product.costPrice' : 'Not authorized to access Product.costPrice';
      expect(result.body.errors).toEqual([{ message, path: ['product', 'costPrice'], extensions: { code } }]);
      expect(receivedQueries(stack).products).toHaveLength(1);
      expect(fieldsRequested(stack)).not.toContain('costPrice');
    }
    const allowed = await run(stack, 'carol', query);
    expect(allowed.body).toEqual({ data: { product: { name: 'Tiny Kettle', costPrice: expect.any(Number) } } });
    expect(fieldsRequested(stack)).toContain('costPrice');
  });

  it('makes no subgraph call at all for an operation whose every field is denied', async () => {
    const me = await run(stack, 'anonymous', '{ me { username email role } }');
    expect(me.body).toEqual({ data: { me: null }, errors: [{ message: 'Authentication required to access Query.me', path: ['me'], extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(allReceived(stack)).toEqual([]);

    // Non-null: users is [User!]!, so its null reaches data, as GraphQL execution would.
    const users = await run(stack, 'anonymous', 'query Users { list: users { id } }');
    expect(users.body).toEqual({ data: null, errors: [{ message: 'Authentication required to access Query.users', path: ['list'], extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(allReceived(stack)).toEqual([]);

    const mutation = await run(stack, 'carol', 'mutation C($upc: String!) { createReview(upc: $upc, body: "x", rating: 1) { id } }', { upc: 'p002' });
    expect(mutation.body).toEqual({ data: { createReview: null }, errors: [{ message: 'Not authorized to access Mutation.createReview', path: ['createReview'], extensions: { code: 'FORBIDDEN' } }] });
    expect(allReceived(stack)).toEqual([]);
  });

  it('non-null bubbling stops at the nearest nullable parent and the rest of the operation runs', async () => {
    const result = await run(stack, 'anonymous', '{ users { id } topProducts(first: 1) { upc } }');
    // users is non-null at the root: the whole data is null, even though topProducts was fetched.
    expect(result.body.data).toBeNull();
    expect(codes(result)).toEqual([['users', 'UNAUTHENTICATED']]);
    const partial = await run(stack, 'anonymous', '{ me { id } topProducts(first: 2) { upc costPrice } }');
    expect(partial.body.data).toEqual({ me: null, topProducts: [{ upc: 'p001', costPrice: null }, { upc: 'p002', costPrice: null }] });
    expect(codes(partial)).toEqual([['me', 'UNAUTHENTICATED'], ['topProducts.0.costPrice', 'UNAUTHENTICATED'], ['topProducts.1.costPrice', 'UNAUTHENTICATED']]);
    expect(Object.keys((partial.body.data as { topProducts: object[] }).topProducts[0] as object)).toEqual(['upc', 'costPrice']);
  });

  it('covers every path: aliases, named and inline fragments, @skip/@include with variables, nested lists, mutation payloads', async () => {
    const query = `
      query Paths($yes: Boolean!, $no: Boolean!) {
        a: product(upc: "p001") { cost: costPrice ...F }
        b: product(upc: "p001") { ... on Product { costPrice } }
        c: product(upc: "p001") { costPrice @include(if: $yes) }
        d: product(upc: "p001") { costPrice @skip(if: $no) }
        e: product(upc: "p001") { name costPrice @skip(if: $yes) }
        topProducts(first: 2) { reviews { product { costPrice } } }
      }
      fragment F on Product { c2: costPrice }`;
    const result = await run(stack, 'bob', query, { yes: true, no: false });
    const data = result.body.data as Record<string, any>;
    expect(data.a).toEqual({ cost: null, c2: null });
    expect(data.b).toEqual({ costPrice: null });
    expect(data.c).toEqual({ costPrice: null });
    expect(data.d).toEqual({ costPrice: null });
    // Skipped: not in the response, and no error.
    expect(data.e).toEqual({ name: 'Tiny Kettle' });
    const nested = (data.topProducts as any[]).flatMap((p, i) => p.reviews.map((_: unknown, j: number) => `topProducts.${i}.reviews.${j}.product.costPrice`));
    expect(nested.length).toBeGreaterThan(0);
    expect(codes(result)).toEqual(['a.cost', 'a.c2', 'b.costPrice', 'c.costPrice', 'd.costPrice', ...nested].map((path) => [path, 'FORBIDDEN']));
    expect(fieldsRequested(stack)).not.toContain('costPrice');

    const payload = await run(stack, 'bob', 'mutation { createReview(upc: "p003", body: "ok", rating: 3) { id product { name costPrice } } }');
    expect((payload.body.data as any).createReview.product).toEqual({ name: expect.any(String), costPrice: null });
    expect(codes(payload)).toEqual([['createReview.product.costPrice', 'FORBIDDEN']]);
    expect(fieldsRequested(stack)).not.toContain('costPrice');
  });

  it('never shares a query plan between principals with different permissions (alternating, 10 times)', async () => {
    const query = 'query Shared { topProducts(first: 3) { upc costPrice } }';
    for (let i = 0; i < 10; i++) {
      for (const user of ['carol', 'bob'] as const) {
        const result = await run(stack, user, query);
        const products = (result.body.data as { topProducts: Array<{ costPrice: number | null }> }).topProducts;
        const received = receivedQueries(stack).products ?? [];
        expect(received).toHaveLength(1);
        if (user === 'carol') {
          expect(products.every((p) => typeof p.costPrice === 'number')).toBe(true);
          expect(result.body.errors).toBeUndefined();
          expect(fieldsRequested(stack)).toContain('costPrice');
        } else {
          expect(products.every((p) => p.costPrice === null)).toBe(true);
          expect(codes(result)).toEqual([0, 1, 2].map((n) => [`topProducts.${n}.costPrice`, 'FORBIDDEN']));
          expect(fieldsRequested(stack)).not.toContain('costPrice');
        }
      }
    }
  });

  it('gives the same data and the same errors as the kit, which still enforces everything without the gateway\'s check', async () => {
    const queries = [
      '{ me { username role } user(id: "u2") { username role } product(upc: "p001") { name costPrice } }',
      '{ topProducts(first: 2) { upc costPrice reviews { author { role } } } }',
      '{ users { id } }',
      'mutation { createReview(upc: "p002", body: "Solid.", rating: 4) { id } }',
    ];
    for (const query of queries) {
      for (const user of ['anonymous', 'bob', 'carol'] as const) {
        const viaGateway = await run(stack, user, query);
        const viaKit = await run(kitOnly, user, query);
        const strip = (r: HttpResult) => ({
          data: r.body.data,
          errors: (r.body.errors ?? []).map((e) => ({ message: e.message, path: e.path, code: e.extensions?.code })).sort((x, y) => JSON.stringify(x.path).localeCompare(JSON.stringify(y.path))),
        });
        const kit = strip(viaKit);
        // The kit did the work: its errors come from a subgraph (serviceName), having received the field.
        if (kit.errors.length > 0) {
          expect(viaKit.body.errors?.every((e) => typeof e.extensions?.serviceName === 'string')).toBe(true);
          expect(allReceived(kitOnly).length).toBeGreaterThan(0);
        }
        // createReview by bob succeeds on both: the ids differ.
        if (query.startsWith('mutation') && user === 'bob') continue;
        expect(strip(viaGateway), `${user}: ${query}`).toEqual(kit);
      }
    }
  });
});
