/**
 * applyAuthorization on a schema built for the purpose: interfaces, unions, type-level rules, OR-of-AND
 * scopes, and policies that deny, throw, hang or answer something other than true.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AUTHZ_DIRECTIVES_SDL, applyAuthorization, type AuthorizationOptions, type Identity } from '../../../subgraphs/kit/index.ts';
import { readFileSync } from 'node:fs';

const SDL = `
extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@composeDirective"])
  @link(url: "https://specs.frontdesk.dev/authz/v0.1", import: ["@authenticated", "@requiresScopes", "@policy"])
  @composeDirective(name: "@authenticated") @composeDirective(name: "@requiresScopes") @composeDirective(name: "@policy")
${AUTHZ_DIRECTIVES_SDL}

type Query {
  public: String
  both: String @requiresScopes(scopes: [["a", "b"], ["c"]])
  "A field rule and its return type's rule: both apply."
  twoRules: Secret @requiresScopes(scopes: [["a"]])
  node(id: ID!): Node
  search: [Result!]!
  secret: Secret
  level: Level
  guarded: String @policy(policies: [["throws"]])
  slow: String @policy(policies: [["hangs"]])
  truthy: String @policy(policies: [["truthy"]])
  anyOf: String @policy(policies: [["no", "yes"], ["yes"]])
  allOf: String @policy(policies: [["yes", "no"]])
}
interface Node { id: ID! owner: String @authenticated }
type Doc implements Node @key(fields: "id") { id: ID! owner: String title: String }
type Secret @key(fields: "id") @requiresScopes(scopes: [["secret"]]) { id: ID! value: String }
type Owned @key(fields: "id") @policy(policies: [["isOwner"]]) { id: ID! ownerId: String note: String }
union Result = Doc | Owned
enum Level @authenticated { LOW HIGH }
`;

const resolvers = {
  Query: {
    public: () => 'public', both: () => 'both', twoRules: () => ({ id: 's2', value: 'two' }), guarded: () => 'g', slow: () => 's', truthy: () => 't', anyOf: () => 'any', allOf: () => 'all',
    node: (_: unknown, { id }: { id: string }) => ({ __typename: 'Doc', id, owner: 'u1', title: 'T' }),
    search: () => [{ __typename: 'Doc', id: 'd1', owner: 'u1', title: 'T' }, { __typename: 'Owned', id: 'o1', ownerId: 'u1', note: 'mine' }, { __typename: 'Owned', id: 'o2', ownerId: 'u2', note: 'theirs' }],
    secret: () => ({ id: 's1', value: 'classified' }),
    level: () => 'HIGH',
  },
  Result: { __resolveType: (o: { __typename: string }) => o.__typename },
  Node: { __resolveType: (o: { __typename: string }) => o.__typename },
  Secret: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, value: 'classified' }) },
  Owned: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, ownerId: ref.id === 'o1' ? 'u1' : 'u2', note: 'n' }) },
};

const identity = (overrides: Partial<Identity> = {}): Identity => ({
  id: 'jwt:https%3A%2F%2Fidp:u1', subject: 'u1', issuer: 'https://idp', method: 'jwt', scopes: [], roles: [], tenant: undefined, clientId: undefined,
  expiresAt: new Date(Date.now() + 60_000), tokenId: 'j', authenticated: true, ...overrides,
});
const anonymous = identity({ id: undefined, subject: undefined, method: 'anonymous', authenticated: false });

function schemaWith(options: AuthorizationOptions<{ identity?: Identity }> = {}) {
  const policyErrors: string[] = [];
  const schema = applyAuthorization(buildSubgraphSchema({ typeDefs: parse(SDL), resolvers: resolvers as never }), {
    policyTimeoutMs: 50,
    onPolicyError: (name) => policyErrors.push(name),
    policies: {
      throws: () => { throw new Error('database exploded: password=hunter2'); },
      hangs: () => new Promise<boolean>(() => {}),
      truthy: (() => 'yes') as never,
      yes: () => true,
      no: () => false,
      isOwner: (who, { parent }) => who.subject === (parent as { ownerId: string }).ownerId,
    },
    ...options,
  });
  return { schema, policyErrors };
}

async function run(query: string, who: Identity | undefined, options?: AuthorizationOptions<{ identity?: Identity }>) {
  const { schema, policyErrors } = schemaWith(options);
  const result = (await execute({ schema, document: parse(query), contextValue: who ? { identity: who } : {} })) as ExecutionResult;
  return { data: result.data as Record<string, any> | null | undefined, errors: (result.errors ?? []).map((e) => [e.path?.join('.'), e.extensions.code]), messages: (result.errors ?? []).map((e) => e.message), policyErrors };
}

describe('applyAuthorization', () => {
  it('@requiresScopes: the outer list is OR, the inner list AND; field and type rules both apply', async () => {
    const cases: Array<[string[], boolean, boolean]> = [
      [[], false, false], [['a'], false, false], [['a', 'b'], true, false], [['c'], true, false], [['b'], false, false],
      [['a', 'b', 'secret'], true, true], [['A', 'B'], false, false], [['a b'], false, false], [['secret'], false, false],
    ];
    for (const [scopes, both, two] of cases) {
      const result = await run('{ both twoRules { value } }', identity({ scopes }));
      expect([scopes, result.data?.both === 'both', result.data?.twoRules?.value === 'two']).toEqual([scopes, both, two]);
    }
  });

  it('answers UNAUTHENTICATED without a principal, FORBIDDEN with one', async () => {
    expect((await run('{ both }', anonymous)).errors).toEqual([['both', 'UNAUTHENTICATED']]);
    expect((await run('{ both }', identity())).errors).toEqual([['both', 'FORBIDDEN']]);
    expect((await run('{ both }', undefined)).errors).toEqual([['both', 'UNAUTHENTICATED']]);
  });

  it('policies: a throw, a timeout or a non-true answer deny with FORBIDDEN and no leaked text', async () => {
    const started = Date.now();
    const result = await run('{ guarded slow truthy public }', identity());
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.data).toEqual({ guarded: null, slow: null, truthy: null, public: 'public' });
    expect(result.errors.sort()).toEqual([['guarded', 'FORBIDDEN'], ['slow', 'FORBIDDEN'], ['truthy', 'FORBIDDEN']]);
    expect(JSON.stringify(result.messages)).not.toContain('hunter2');
    expect(result.policyErrors.sort()).toEqual(['hangs', 'throws']);
  });

  it('@policy: OR of AND-sets', async () => {
    const result = await run('{ anyOf allOf }', identity());
    expect(result.data).toEqual({ anyOf: 'any', allOf: null });
  });

  it('interface field rules hold on implementations, whatever path reaches them', async () => {
    const viaInterface = await run('{ node(id: "d1") { id owner ... on Doc { title } } }', anonymous);
    expect(viaInterface.data).toEqual({ node: { id: 'd1', owner: null, title: 'T' } });
    expect(viaInterface.errors).toEqual([['node.owner', 'UNAUTHENTICATED']]);
    const viaUnion = await run('{ search { ... on Doc { owner } } }', anonymous);
    expect(viaUnion.errors).toEqual([['search.0.owner', 'UNAUTHENTICATED']]);
  });

  it('type-level rules: the field returning the type, the type\'s own fields, unions and _entities', async () => {
    const direct = await run('{ secret { id value } }', identity({ scopes: ['other'] }));
    expect(direct.data).toEqual({ secret: null });
    expect(direct.errors).toEqual([['secret', 'FORBIDDEN']]);
    const allowed = await run('{ secret { value } }', identity({ scopes: ['secret'] }));
    expect(allowed.data).toEqual({ secret: { value: 'classified' } });

    const entities = await run('{ _entities(representations: [{__typename: "Secret", id: "s1"}, {__typename: "Owned", id: "o1"}, {__typename: "Owned", id: "o2"}]) { ... on Secret { value } ... on Owned { note } } }', identity());
    expect(entities.data?._entities).toEqual([{ value: null }, { note: 'n' }, { note: null }]);
    expect(entities.errors).toEqual([['_entities.0.value', 'FORBIDDEN'], ['_entities.2.note', 'FORBIDDEN']]);

    // Type-level @policy sees the object itself as parent: each user sees only their own Owned.
    const union = await run('{ search { ... on Owned { note } } }', identity({ subject: 'u1' }));
    expect(union.data?.search).toEqual([{}, { note: 'mine' }, { note: null }]);
    expect(union.errors).toEqual([['search.2.note', 'FORBIDDEN']]);
    // A denied non-null field bubbles: Owned.id is ID!, and so are the union list's items.
    const bubbling = await run('{ search { ... on Owned { id } } }', identity({ subject: 'u1' }));
    expect(bubbling.data).toBeNull();
    expect(bubbling.errors).toEqual([['search.2.id', 'FORBIDDEN']]);
  });

  it('enum type rules apply on the fields returning them', async () => {
    expect((await run('{ level }', anonymous)).errors).toEqual([['level', 'UNAUTHENTICATED']]);
    expect((await run('{ level }', identity())).data).toEqual({ level: 'HIGH' });
  });

  it('authenticated by default, with explicit public fields', async () => {
    const options = { authenticatedByDefault: true, publicFields: ['Query.public'] };
    const result = await run('{ public node(id: "d1") { id } }', anonymous, options);
    expect(result.data).toEqual({ public: 'public', node: null });
    expect(result.errors).toEqual([['node', 'UNAUTHENTICATED']]);
    // _service stays reachable for composition; entities are checked on their fields.
    expect((await run('{ _service { sdl } }', anonymous, options)).errors).toEqual([]);
  });

  it('refuses at boot a @policy name that no function implements', () => {
    expect(() => schemaWith({ policies: { yes: () => true } })).toThrow(/@policy names with no registered policy: .*throws/);
  });

  it('the example SDL files carry exactly the kit\'s directive definitions', () => {
    for (const name of ['accounts', 'products', 'reviews']) {
      const sdl = readFileSync(new URL(`../../../schema/${name}.graphql`, import.meta.url), 'utf8');
      expect(sdl).toContain(AUTHZ_DIRECTIVES_SDL);
    }
  });
});
