/**
 * Issue 11, hole 1: rules declared on an interface protect every type implementing it, on every path —
 * a field returning the interface or the concrete type, a union member, `_entities`, fragments — and
 * `npm run authz` reports the same requirements the kit enforces.
 */
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { authorizationReport } from '../../../scripts/authz-report.ts';
import { AUTHZ_DIRECTIVES_SDL, AUTHZ_LINK_SDL, applyAuthorization, type Identity } from '@frontdesk/kit';

const SDL = `${AUTHZ_LINK_SDL}
${AUTHZ_DIRECTIVES_SDL}
type Query {
  node(id: ID!): Node
  doc(id: ID!): Doc
  item: Item
  things: [Thing!]!
}
"Type-level @authenticated on an interface."
interface Node @authenticated { id: ID! secret: String @requiresScopes(scopes: [["secret"]]) }
"Type-level @policy on an interface: the policy sees each implementing object."
interface Owned @policy(policies: [["isOwner"]]) { ownerId: String }
"Type-level @requiresScopes on an interface."
interface Priced @requiresScopes(scopes: [["pricing"]]) { price: Int }
type Doc implements Node & Owned @key(fields: "id") { id: ID! secret: String ownerId: String title: String }
type Item implements Priced @key(fields: "id") { id: ID! price: Int name: String }
union Thing = Doc | Item
`;

const docs: Record<string, { id: string; ownerId: string; title: string; secret: string }> = {
  d1: { id: 'd1', ownerId: 'u1', title: 'Mine', secret: 's1' },
  d2: { id: 'd2', ownerId: 'u2', title: 'Theirs', secret: 's2' },
};
const item = { id: 'i1', price: 5, name: 'Kettle' };
const resolvers = {
  Query: {
    node: (_: unknown, { id }: { id: string }) => ({ __typename: 'Doc', ...docs[id] }),
    doc: (_: unknown, { id }: { id: string }) => docs[id],
    item: () => item,
    things: () => [{ __typename: 'Doc', ...docs.d1 }, { __typename: 'Doc', ...docs.d2 }, { __typename: 'Item', ...item }],
  },
  Node: { __resolveType: (o: { __typename: string }) => o.__typename },
  Owned: { __resolveType: (o: { __typename: string }) => o.__typename },
  Priced: { __resolveType: () => 'Item' },
  Thing: { __resolveType: (o: { __typename: string }) => o.__typename },
  Doc: { __resolveReference: (ref: { id: string }) => docs[ref.id] },
  Item: { __resolveReference: () => item },
};

const identity = (overrides: Partial<Identity> = {}): Identity => ({
  id: 'jwt:https%3A%2F%2Fidp:u1', subject: 'u1', issuer: 'https://idp', method: 'jwt', scopes: [], roles: [], tenant: undefined, clientId: undefined,
  expiresAt: new Date(Date.now() + 60_000), tokenId: 'j', authenticated: true, ...overrides,
});
const anonymous = identity({ id: undefined, subject: undefined, method: 'anonymous', authenticated: false });

const schema = applyAuthorization(buildSubgraphSchema({ typeDefs: parse(SDL), resolvers: resolvers as never }), {
  policies: { isOwner: (who, { parent }) => who.subject === (parent as { ownerId: string }).ownerId },
});
async function run(query: string, who: Identity) {
  const result = (await execute({ schema, document: parse(query), contextValue: { identity: who } })) as ExecutionResult;
  return { data: result.data as Record<string, unknown> | null, errors: (result.errors ?? []).map((e) => [e.path?.join('.'), e.extensions.code]) };
}
const entities = (typename: string, ids: string[], selection: string) =>
  `{ _entities(representations: [${ids.map((id) => `{__typename: "${typename}", id: "${id}"}`).join(', ')}]) { ... on ${typename} { ${selection} } } }`;

describe('a type-level rule on an interface', () => {
  it('@authenticated protects the implementing type on every path, not only where the interface is returned', async () => {
    const paths: Array<[string, unknown, unknown[]]> = [
      ['{ node(id: "d1") { ... on Doc { title } } }', { node: null }, [['node', 'UNAUTHENTICATED']]],
      ['{ doc(id: "d1") { title } }', { doc: null }, [['doc', 'UNAUTHENTICATED']]],
      ['{ doc(id: "d1") { ...F } } fragment F on Node { id }', { doc: null }, [['doc', 'UNAUTHENTICATED']]],
      ['{ things { ... on Doc { title } } }', { things: [{ title: null }, { title: null }, {}] }, [['things.0.title', 'UNAUTHENTICATED'], ['things.1.title', 'UNAUTHENTICATED']]],
      [entities('Doc', ['d1'], 'title'), { _entities: [{ title: null }] }, [['_entities.0.title', 'UNAUTHENTICATED']]],
    ];
    for (const [query, data, errors] of paths) {
      const result = await run(query, anonymous);
      expect([query, result.data, result.errors]).toEqual([query, data, errors]);
    }
  });

  it('@policy is evaluated, on each implementing object, on every path', async () => {
    const u1 = identity({ subject: 'u1', scopes: ['secret'] });
    expect(await run('{ doc(id: "d1") { title } other: doc(id: "d2") { title } }', u1)).toEqual({
      data: { doc: { title: 'Mine' }, other: { title: null } },
      errors: [['other.title', 'FORBIDDEN']],
    });
    expect(await run('{ node(id: "d2") { id ... on Doc { title } } }', identity({ subject: 'u2' }))).toEqual({ data: { node: { id: 'd2', title: 'Theirs' } }, errors: [] });
    expect(await run('{ things { ... on Doc { title } } }', u1)).toEqual({
      data: { things: [{ title: 'Mine' }, { title: null }, {}] },
      errors: [['things.1.title', 'FORBIDDEN']],
    });
    expect(await run(entities('Doc', ['d1', 'd2'], 'title ownerId'), u1)).toEqual({
      data: { _entities: [{ title: 'Mine', ownerId: 'u1' }, { title: null, ownerId: null }] },
      errors: [['_entities.1.title', 'FORBIDDEN'], ['_entities.1.ownerId', 'FORBIDDEN']],
    });
  });

  it('@requiresScopes holds where the concrete type is returned and in _entities', async () => {
    expect(await run('{ item { name } }', identity())).toEqual({ data: { item: null }, errors: [['item', 'FORBIDDEN']] });
    expect(await run('{ item { name } }', identity({ scopes: ['pricing'] }))).toEqual({ data: { item: { name: 'Kettle' } }, errors: [] });
    expect(await run(entities('Item', ['i1'], 'name price'), identity())).toEqual({
      data: { _entities: [{ name: null, price: null }] },
      errors: [['_entities.0.name', 'FORBIDDEN'], ['_entities.0.price', 'FORBIDDEN']],
    });
  });
});

describe('a field rule on an interface', () => {
  it('holds on the same field of every implementing type, on every path', async () => {
    const u1 = identity({ subject: 'u1' });
    for (const [query, path] of [
      ['{ doc(id: "d1") { secret } }', 'doc.secret'],
      ['{ node(id: "d1") { secret } }', 'node.secret'],
      ['{ things { ... on Doc { secret } } }', 'things.0.secret'],
      [entities('Doc', ['d1'], 'secret'), '_entities.0.secret'],
    ] as const) {
      expect([query, (await run(query, u1)).errors[0]]).toEqual([query, [path, 'FORBIDDEN']]);
    }
    expect((await run('{ doc(id: "d1") { secret } }', identity({ subject: 'u1', scopes: ['secret'] }))).data).toEqual({ doc: { secret: 's1' } });
  });
});

describe('npm run authz', () => {
  it('reports the interface\'s rules on the implementing types\' fields and on the fields returning them', () => {
    const composed = composeServices([{ name: 'docs', url: 'http://docs', typeDefs: parse(SDL) }]);
    expect(composed.errors).toBeUndefined();
    const rules = Object.fromEntries(authorizationReport(composed.supergraphSdl!).map((row) => [row.coordinate, row.rules]));
    expect(rules).toMatchObject({
      'Query.node': '@authenticated',
      'Query.doc': '@authenticated',
      'Query.item': 'scopes pricing',
      'Query.things': '—',
      'Doc.title': '@authenticated AND policy isOwner',
      'Doc.secret': '@authenticated AND scopes secret AND policy isOwner',
      'Item.name': 'scopes pricing',
      'Node.secret': '@authenticated AND scopes secret',
      'Owned.ownerId': 'policy isOwner',
    });
  });
});
