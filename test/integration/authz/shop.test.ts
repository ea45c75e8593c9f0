/**
 * Field-level authorization through the gateway with the real subgraphs: the same queries for each demo
 * user, and every path a client can take to a protected field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../../dev/users.ts';
import { createIdentityMinter } from '../../../gateway/identity/mint.ts';
import { ANONYMOUS, type Principal } from '../../../gateway/auth/principal.ts';
import { shopPrincipalId } from '../../../subgraphs/shop/policies.ts';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { startStack, type HttpResult, type Stack } from '../../support/stack.ts';

type User = keyof typeof DEMO_USERS | 'anonymous';

describe('authorization in the example shop', () => {
  let idp: TestIssuer;
  let stack: Stack;
  const tokens = {} as Record<User, string | undefined>;

  beforeAll(async () => {
    idp = await startTestIssuer();
    stack = await startStack({
      auth: { anonymous: true, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: ['shop-api'], algorithms: ['ES256'], claims: { tenant: 'org_id' }, principalNamespace: 'shop' }] },
    });
    for (const [name, user] of Object.entries(DEMO_USERS)) {
      tokens[name as User] = await idp.sign({ sub: user.sub, scope: user.scope, roles: user.roles, org_id: user.org_id });
    }
    tokens.anonymous = undefined;
  });
  afterAll(async () => {
    await stack?.close();
    await idp?.close();
  });

  const run = (user: User, query: string, variables?: Record<string, unknown>): Promise<HttpResult> =>
    stack.query({ query, variables }, tokens[user] === undefined ? {} : { token: tokens[user] });
  const codes = (result: HttpResult) => (result.body.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.code]);

  it('gives each demo user exactly the data they may see, from the same query', async () => {
    const query = '{ me { username email role } user(id: "u2") { username email } product(upc: "p001") { name costPrice } }';
    const seen: Record<string, unknown> = {};
    for (const user of ['anonymous', 'alice', 'bob', 'carol'] as const) {
      const result = await run(user, query);
      expect(result.status).toBe(200);
      seen[user] = { data: result.body.data, errors: codes(result) };
    }
    expect(seen).toEqual({
      anonymous: {
        data: { me: null, user: { username: 'bob', email: null }, product: { name: 'Tiny Kettle', costPrice: null } },
        errors: expect.arrayContaining([
          ['me', 'UNAUTHENTICATED'],
          ['user.email', 'UNAUTHENTICATED'],
          ['product.costPrice', 'UNAUTHENTICATED'],
        ]),
      },
      alice: {
        data: { me: { username: 'alice', email: 'alice@shop.example', role: 'ADMIN' }, user: { username: 'bob', email: 'bob@shop.example' }, product: { name: 'Tiny Kettle', costPrice: expect.any(Number) } },
        errors: [],
      },
      bob: {
        data: { me: { username: 'bob', email: 'bob@shop.example', role: 'CUSTOMER' }, user: { username: 'bob', email: 'bob@shop.example' }, product: { name: 'Tiny Kettle', costPrice: null } },
        errors: [['product.costPrice', 'FORBIDDEN']],
      },
      carol: {
        data: { me: { username: 'carol', email: 'carol@shop.example', role: 'STAFF' }, user: { username: 'bob', email: null }, product: { name: 'Tiny Kettle', costPrice: expect.any(Number) } },
        errors: [['user.email', 'FORBIDDEN']],
      },
    });
    expect((seen.anonymous as { errors: unknown[] }).errors).toHaveLength(3);
  });

  it('protects a field on every path: aliases, fragments, @include/@skip with variables, nested lists', async () => {
    const query = `
      query Paths($yes: Boolean!, $no: Boolean!) {
        a: user(id: "u1") { secret: email ...F }
        b: user(id: "u1") { ... on User { email } }
        c: user(id: "u1") { email @include(if: $yes) }
        d: user(id: "u1") { email @skip(if: $no) }
        topProducts(first: 2) { reviews { author { email } } }
      }
      fragment F on User { email2: email }`;
    const result = await run('bob', query, { yes: true, no: false });
    expect(result.status).toBe(200);
    const data = result.body.data as Record<string, any>;
    expect(data.a).toEqual({ secret: null, email2: null });
    expect(data.b).toEqual({ email: null });
    expect(data.c).toEqual({ email: null });
    expect(data.d).toEqual({ email: null });
    for (const product of data.topProducts) for (const review of product.reviews) {
      expect(review.author.email).toBe(review.author.id === 'u2' ? 'bob@shop.example' : null);
    }
    const paths = codes(result).map(([path]) => path);
    expect(paths).toEqual(expect.arrayContaining(['a.secret', 'a.email2', 'b.email', 'c.email', 'd.email']));
    expect(codes(result).every(([, code]) => code === 'FORBIDDEN')).toBe(true);
    // No protected value appears anywhere in the response.
    expect(JSON.stringify(result.body)).not.toContain('alice@shop.example');
  });

  it('runs the rest of the operation and keeps unprotected data', async () => {
    const result = await run('anonymous', '{ topProducts(first: 3) { upc costPrice reviews { rating } } }');
    const products = (result.body.data as any).topProducts as Array<{ upc: string; costPrice: number | null; reviews: unknown[] }>;
    expect(products.map((p) => p.upc)).toEqual(['p001', 'p002', 'p003']);
    expect(products.every((p) => p.costPrice === null && p.reviews.length > 0)).toBe(true);
    expect(codes(result)).toEqual([0, 1, 2].map((i) => [`topProducts.${i}.costPrice`, 'UNAUTHENTICATED']));
  });

  it('non-null protected fields bubble null to the nearest nullable parent', async () => {
    const result = await run('anonymous', '{ users { id } }');
    expect(result.body.data).toBeNull();
    expect(codes(result)).toEqual([['users', 'UNAUTHENTICATED']]);
  });

  it('mutations: createReview needs reviews:write; deleteReview is for the author or an admin', async () => {
    const create = 'mutation C($upc: String!) { createReview(upc: $upc, body: "Solid.", rating: 4) { id author { username } } }';
    const denied = await run('carol', create, { upc: 'p002' });
    expect(denied.body.data).toEqual({ createReview: null });
    expect(codes(denied)).toEqual([['createReview', 'FORBIDDEN']]);
    const anonymous = await run('anonymous', create, { upc: 'p002' });
    expect(codes(anonymous)).toEqual([['createReview', 'UNAUTHENTICATED']]);

    const created = await run('bob', create, { upc: 'p002' });
    const review = (created.body.data as any).createReview as { id: string; author: { username: string } };
    expect(review.author.username).toBe('bob');

    const del = 'mutation D($id: ID!) { deleteReview(id: $id) }';
    const byCarol = await run('carol', del, { id: review.id });
    expect(byCarol.body.data).toEqual({ deleteReview: null });
    expect(codes(byCarol)).toEqual([['deleteReview', 'FORBIDDEN']]);
    expect((await stack.stores.reviews.findReviewsByIds([review.id]))[0]).toBeDefined();
    const byBob = await run('bob', del, { id: review.id });
    expect(byBob.body).toEqual({ data: { deleteReview: true } });
    const again = await run('alice', del, { id: 'r1' });
    expect(again.body).toEqual({ data: { deleteReview: true } });
  });

  it('mutation payloads obey field rules too', async () => {
    const result = await run('bob', 'mutation { createReview(upc: "p003", body: "ok", rating: 3) { id product { name costPrice } } }');
    expect((result.body.data as any).createReview.product).toEqual({ name: expect.any(String), costPrice: null });
    expect(codes(result)).toEqual([['createReview.product.costPrice', 'FORBIDDEN']]);
  });

  it('type-level rules (enum Role @authenticated) hold on every path returning the type', async () => {
    const result = await run('anonymous', '{ user(id: "u1") { role } topProducts(first: 1) { reviews { author { role } } } }');
    expect((result.body.data as any).user).toEqual({ role: null });
    const authors = (result.body.data as any).topProducts[0].reviews.map((r: any) => r.author.role);
    expect(authors.every((role: unknown) => role === null)).toBe(true);
    expect(codes(result).every(([, code]) => code === 'UNAUTHENTICATED')).toBe(true);
    expect(codes(result)[0]).toEqual(['user.role', 'UNAUTHENTICATED']);
  });

  describe('directly at the subgraph, with a valid identity token', () => {
    const direct = async (subgraph: 'accounts' | 'products', principal: Principal, body: { query: string; variables?: Record<string, unknown> }) => {
      const mint = createIdentityMinter({ issuer: stack.identityIssuer, key: stack.signingKey, ttlMs: 60_000 });
      const token = await mint(principal, subgraph, body);
      const response = await fetch(stack.subgraphs[subgraph].url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'frontdesk-identity': token },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as HttpResult['body'] };
    };
    const bob: Principal = { ...ANONYMOUS, id: shopPrincipalId('u2'), subject: 'u2', method: 'jwt', issuer: 'https://idp', scopes: ['products:read'], roles: ['customer'] };

    it('_entities representations obey field rules', async () => {
      const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }';
      const variables = { r: [{ __typename: 'User', id: 'u1' }, { __typename: 'User', id: 'u2' }] };
      const result = await direct('accounts', bob, { query, variables });
      expect(result.status).toBe(200);
      expect(result.body.data).toEqual({ _entities: [{ id: 'u1', email: null }, { id: 'u2', email: 'bob@shop.example' }] });
      expect(result.body.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['_entities', 0, 'email'], 'FORBIDDEN']]);
      const anonymous = await direct('products', ANONYMOUS, { query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { costPrice } } }', variables: { r: [{ __typename: 'Product', upc: 'p001' }] } });
      expect(anonymous.body.data).toEqual({ _entities: [{ costPrice: null }] });
      expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });
});
