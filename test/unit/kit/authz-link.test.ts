/**
 * Issue 11, hole 5: the kit reads the authorization directives under the names the schema's `@link` of
 * frontdesk's spec gives them (renamed imports, the namespaced form), and refuses at boot a schema whose
 * `@authenticated`/`@requiresScopes`/`@policy` come from anywhere else — never a silently unprotected field.
 */
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { authorizationReport } from '../../../scripts/authz-report.ts';
import { applyAuthorization, type Identity } from '@frontdesk/kit';

const L = 'FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM';
const FEDERATION = '@link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@composeDirective"])';
const identity = (overrides: Partial<Identity> = {}): Identity => ({
  id: 'jwt:https%3A%2F%2Fidp:u1', subject: 'u1', issuer: 'https://idp', method: 'jwt', scopes: [], roles: [], tenant: undefined, clientId: undefined,
  expiresAt: new Date(Date.now() + 60_000), tokenId: 'j', authenticated: true, ...overrides,
});
const anonymous = identity({ id: undefined, subject: undefined, method: 'anonymous', authenticated: false });
const resolvers = { Query: { me: () => 'me', stock: () => 7, note: () => 'note', open: () => 'open' } };

function protectedSchema(sdl: string, policies = { staff: (who: Identity) => who.roles.includes('staff') }) {
  return applyAuthorization(buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as never }), { policies });
}
async function run(sdl: string, query: string, who: Identity) {
  const result = (await execute({ schema: protectedSchema(sdl), document: parse(query), contextValue: { identity: who } })) as ExecutionResult;
  return { data: result.data, errors: (result.errors ?? []).map((e) => [e.path?.join('.'), e.extensions.code]) };
}

const RENAMED = `extend schema ${FEDERATION}
  @link(url: "https://specs.frontdesk.dev/authz/v0.1", import: [{name: "@authenticated", as: "@signedIn"}, {name: "@requiresScopes", as: "@scoped"}, {name: "@policy", as: "@rule"}])
  @composeDirective(name: "@signedIn") @composeDirective(name: "@scoped") @composeDirective(name: "@rule")
directive @signedIn on ${L}
directive @scoped(scopes: [[String!]!]!) on ${L}
directive @rule(policies: [[String!]!]!) on ${L}
type Query { me: String @signedIn  stock: Int @scoped(scopes: [["inventory:read"]])  note: String @rule(policies: [["staff"]])  open: String }`;

const NAMESPACED = `extend schema ${FEDERATION} @link(url: "https://specs.frontdesk.dev/authz/v0.1")
directive @authz__authenticated on ${L}
directive @authz__requiresScopes(scopes: [[String!]!]!) on ${L}
type Query { me: String @authz__authenticated  stock: Int @authz__requiresScopes(scopes: [["inventory:read"]])  note: String  open: String }`;
const NAMESPACED_AS = `extend schema ${FEDERATION} @link(url: "https://specs.frontdesk.dev/authz/v0.1", as: "fd")
directive @fd__authenticated on ${L}
directive @fd__policy(policies: [[String!]!]!) on ${L}
type Query { me: String @fd__authenticated  stock: Int  note: String @fd__policy(policies: [["staff"]])  open: String }`;

describe('directive names resolved through the @link of frontdesk\'s spec', () => {
  it('a renamed import (@authenticated as @signedIn, and the others) is enforced', async () => {
    const query = '{ me stock note open }';
    expect(await run(RENAMED, query, anonymous)).toEqual({
      data: { me: null, stock: null, note: null, open: 'open' },
      errors: [['me', 'UNAUTHENTICATED'], ['stock', 'UNAUTHENTICATED'], ['note', 'UNAUTHENTICATED']],
    });
    expect(await run(RENAMED, query, identity({ scopes: ['inventory:read'], roles: ['staff'] }))).toEqual({ data: { me: 'me', stock: 7, note: 'note', open: 'open' }, errors: [] });
  });

  it('the namespaced form (@authz__authenticated, and @fd__… under a link\'s `as`) is enforced', async () => {
    expect(await run(NAMESPACED, '{ me stock note open }', identity())).toEqual({ data: { me: 'me', stock: null, note: 'note', open: 'open' }, errors: [['stock', 'FORBIDDEN']] });
    expect((await run(NAMESPACED, '{ me }', anonymous)).errors).toEqual([['me', 'UNAUTHENTICATED']]);
    expect(await run(NAMESPACED_AS, '{ me stock note open }', identity())).toEqual({ data: { me: 'me', stock: 7, note: null, open: 'open' }, errors: [['note', 'FORBIDDEN']] });
    expect((await run(NAMESPACED_AS, '{ me }', anonymous)).errors).toEqual([['me', 'UNAUTHENTICATED']]);
  });

  it('npm run authz reads renamed and namespaced imports from the composed supergraph', () => {
    const sdl = `extend schema ${FEDERATION}
      @link(url: "https://specs.frontdesk.dev/authz/v0.1", import: [{name: "@authenticated", as: "@signedIn"}, "@requiresScopes"])
      @composeDirective(name: "@signedIn") @composeDirective(name: "@requiresScopes")
    directive @signedIn on ${L}
    directive @requiresScopes(scopes: [[String!]!]!) on ${L}
    type Query { me: String @signedIn  stock: Int @requiresScopes(scopes: [["inventory:read"]])  open: String }`;
    const composed = composeServices([{ name: 'a', url: 'http://a', typeDefs: parse(sdl) }]);
    expect(composed.errors).toBeUndefined();
    const rows = Object.fromEntries(authorizationReport(composed.supergraphSdl!).map((row) => [row.coordinate, row.rules]));
    expect(rows).toEqual({ 'Query.me': '@authenticated', 'Query.stock': 'scopes inventory:read', 'Query.open': '—' });
  });
});

describe('refused at boot, with what to change', () => {
  const refusal = (sdl: string) => {
    try {
      protectedSchema(sdl);
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      return (error as Error).message;
    }
    throw new Error('expected applyAuthorization to refuse the schema');
  };

  it('Apollo\'s @authenticated/@requiresScopes imported from the federation spec', () => {
    const message = refusal(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@authenticated", "@requiresScopes"])
      type Query { me: String @authenticated  stock: Int @requiresScopes(scopes: [["inventory:read"]])  note: String  open: String }`);
    expect(message).toContain('@authenticated on Query.me comes from @link(url: "https://specs.apollo.dev/federation/v2.7")');
    expect(message).toContain('@requiresScopes on Query.stock comes from @link(url: "https://specs.apollo.dev/federation/v2.7")');
    expect(message).toContain('import it from @link(url: "https://specs.frontdesk.dev/authz/v0.1", import: ["@authenticated"])');
  });

  it('Apollo\'s directives in their namespaced form (@federation__policy)', () => {
    const message = refusal(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { me: String  stock: Int  note: String @federation__policy(policies: [["staff"]])  open: String }`);
    expect(message).toContain('@federation__policy on Query.note comes from @link(url: "https://specs.apollo.dev/federation/v2.7")');
  });

  it('a directive of the schema\'s own called @authenticated, not imported from frontdesk\'s spec', () => {
    const message = refusal(`extend schema ${FEDERATION}
      @link(url: "https://specs.frontdesk.dev/authz/v0.1", import: [{name: "@authenticated", as: "@signedIn"}])
      directive @signedIn on ${L}
      directive @authenticated on ${L}
      type Query { me: String @authenticated  stock: Int  note: String  open: String @signedIn }`);
    expect(message).toContain('@authenticated on Query.me is not imported from frontdesk\'s spec');
  });

  it('a link to a version of the spec the kit does not know', () => {
    const message = refusal(`extend schema ${FEDERATION} @link(url: "https://specs.frontdesk.dev/authz/v9.0", import: ["@authenticated"])
      directive @authenticated on ${L}
      type Query { me: String @authenticated  stock: Int  note: String  open: String }`);
    expect(message).toContain('https://specs.frontdesk.dev/authz/v9.0');
    expect(message).toContain('https://specs.frontdesk.dev/authz/v0.1');
  });

  it('npm run authz refuses a supergraph carrying Apollo\'s own directives', () => {
    const sdl = `schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY) { query: Query }
      directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
      directive @authenticated on ${L}
      scalar link__Import enum link__Purpose { SECURITY EXECUTION }
      type Query { me: String @authenticated }`;
    expect(() => authorizationReport(sdl)).toThrow(/@authenticated on Query.me comes from @link\(url: "https:\/\/specs.apollo.dev\/authenticated\/v0.1"\)/);
  });
});
