/**
 * The identity contract v1 through the gateway and the example shop (issue 11, holes 2 and 3): a subject
 * is unique only within its issuer, so policies compare principal ids; and a scope item holding
 * whitespace never becomes two scopes, because the gateway refuses it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalId } from '../../../subgraphs/kit/contract.ts';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { startStack, type HttpResult, type Stack } from '../../support/stack.ts';

const PRIVATE = '{ me { id email } user(id: "u2") { email } }';
const jwtIssuer = (idp: TestIssuer, extra: Record<string, unknown> = {}) => ({ issuer: idp.issuer, jwks: idp.jwksUrl, audience: ['shop-api'], algorithms: ['ES256'], ...extra });
const codes = (result: HttpResult) => (result.body.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.code]);

describe('identity contract v1 through the gateway', () => {
  let shopIdp: TestIssuer; // the shop's identity provider: its subjects are shop accounts
  let partnerIdp: TestIssuer; // another provider, with subjects of its own
  let mirrorIdp: TestIssuer; // a second provider the operator declares to share the shop's account space
  let stack: Stack;

  beforeAll(async () => {
    [shopIdp, partnerIdp, mirrorIdp] = await Promise.all([startTestIssuer(), startTestIssuer(), startTestIssuer()]);
    stack = await startStack({
      auth: {
        anonymous: true,
        jwt: [jwtIssuer(shopIdp, { principalNamespace: 'shop' }), jwtIssuer(partnerIdp), jwtIssuer(mirrorIdp, { principalNamespace: 'shop' })],
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await Promise.all([shopIdp?.close(), partnerIdp?.close(), mirrorIdp?.close()]);
  });

  const as = async (idp: TestIssuer, claims: Record<string, unknown>, query: string, variables?: Record<string, unknown>) =>
    stack.query({ query, variables }, { token: await idp.sign(claims) });

  it('control: the shop user u2 reads their own private data', async () => {
    const result = await as(shopIdp, { sub: 'u2' }, PRIVATE);
    expect(result.body).toEqual({ data: { me: { id: 'u2', email: 'bob@shop.example' }, user: { email: 'bob@shop.example' } } });
  });

  it("a user of another issuer with the same sub neither reads nor deletes the shop user's data", async () => {
    const read = await as(partnerIdp, { sub: 'u2' }, PRIVATE);
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual({ me: null, user: { email: null } });
    expect(codes(read)).toEqual([['user.email', 'FORBIDDEN']]);
    expect(JSON.stringify(read.body)).not.toContain('bob@shop.example');

    // r-ids of u2's reviews, then the impostor tries to delete one (the review_author policy)
    const mine = await as(shopIdp, { sub: 'u2' }, '{ me { reviews { id } } }');
    const reviewId = (mine.body.data as { me: { reviews: Array<{ id: string }> } }).me.reviews[0]!.id;
    const del = await as(partnerIdp, { sub: 'u2' }, 'mutation D($id: ID!) { deleteReview(id: $id) }', { id: reviewId });
    expect(del.body.data).toEqual({ deleteReview: null });
    expect(codes(del)).toEqual([['deleteReview', 'FORBIDDEN']]);
    expect(await stack.stores.reviews.findReviewsByIds([reviewId])).toEqual([expect.objectContaining({ id: reviewId, authorId: 'u2' })]);

    // and cannot write a review in u2's name
    const create = await as(partnerIdp, { sub: 'u2', scope: 'reviews:write' }, 'mutation { createReview(upc: "p001", body: "x", rating: 1) { id } }');
    expect(codes(create)).toEqual([['createReview', 'FORBIDDEN']]);
  });

  it('the subgraphs see one principal id per issuer: the configured namespace, or the issuer itself', async () => {
    for (const [idp, expected] of [
      [shopIdp, 'jwt:shop:u2'],
      [mirrorIdp, 'jwt:shop:u2'],
      [partnerIdp, principalId('jwt', partnerIdp.issuer, 'u2')],
    ] as const) {
      stack.resetReceived();
      await as(idp, { sub: 'u2' }, '{ me { id } }');
      const claims = stack.subgraphs.accounts.received[0]?.identity?.claims;
      expect(claims).toMatchObject({ sub: 'u2', pid: expected, orig_iss: idp.issuer });
    }
    expect(principalId('jwt', partnerIdp.issuer, 'u2')).toBe(`jwt:${encodeURIComponent(partnerIdp.issuer)}:u2`);
  });

  it('issuers the operator declares one account space share principal ids', async () => {
    const result = await as(mirrorIdp, { sub: 'u2' }, PRIVATE);
    expect(result.body).toEqual({ data: { me: { id: 'u2', email: 'bob@shop.example' }, user: { email: 'bob@shop.example' } } });
  });

  it('a scope or role array item holding whitespace is refused at the gateway (401 invalid_token), never split', async () => {
    const cases: Array<Record<string, unknown>> = [
      { scope: ['products:read inventory:read'] },
      { scope: ['products:read', 'inventory:read\treviews:write'] },
      { scope: ['inventory:read\n'] },
      { scope: ['inventory:read\u00a0'] },
      { scope: ['inventory:read\u0000'] },
      { roles: ['customer admin'] },
    ];
    for (const claims of cases) {
      stack.resetReceived();
      const result = await as(shopIdp, { sub: 'u3', ...claims }, '{ product(upc: "p001") { costPrice } }');
      expect(result.status, JSON.stringify(claims)).toBe(401);
      expect(result.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
      expect(result.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(stack.subgraphs.products.received).toEqual([]);
    }
    // control: a space-separated scope STRING is split on single spaces (RFC 8693 §4.2), and travels as an array
    stack.resetReceived();
    const split = await as(shopIdp, { sub: 'u3', scope: 'products:read inventory:read' }, '{ product(upc: "p001") { costPrice } }');
    expect(split.body.errors).toBeUndefined();
    expect(stack.subgraphs.products.received[0]?.identity?.claims.scope).toEqual(['products:read', 'inventory:read']);
  });
});
