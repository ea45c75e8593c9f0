import { describe, expect, it } from 'vitest';
import { AuthorizationRulesError, readAuthorizationRules } from '../../../gateway/authz/index.ts';

const supergraph = (link: string, body: string) => `schema @link(url: "https://specs.apollo.dev/link/v1.0") ${link} { query: Query }\n${body}`;

describe('readAuthorizationRules', () => {
  it('resolves names through the @link: imports, renamed imports, the namespaced form and the link\'s `as`', () => {
    const rules = readAuthorizationRules(
      supergraph(
        '@link(url: "https://specs.frontdesk.dev/authz/v0.1", import: [{ name: "@authenticated", as: "@signedIn" }])',
        'type Query { a: Int @signedIn b: Int @authz__requiresScopes(scopes: [["x", "y"], ["z"]]) c: Int @authenticated d: Int @requiresScopes(scopes: [["w"]]) }',
      ),
    );
    // @authenticated and @requiresScopes here are not the spec's (not imported under those names): ignored.
    expect(Object.fromEntries(rules.fields)).toEqual({
      'Query.a': { authenticated: true, scopes: [] },
      'Query.b': { authenticated: false, scopes: [[['x', 'y'], ['z']]] },
    });
    const aliased = readAuthorizationRules(supergraph('@link(url: "https://specs.frontdesk.dev/authz/v0.1", as: "fd")', 'enum Role @fd__authenticated { A }\ntype Query { r: Role }'));
    expect(Object.fromEntries(aliased.types)).toEqual({ Role: { authenticated: true, scopes: [] } });
  });

  it('reads nothing from a supergraph that does not link the spec', () => {
    const rules = readAuthorizationRules(supergraph('', 'directive @authenticated on FIELD_DEFINITION\ntype Query { a: Int @authenticated }'));
    expect([rules.fields.size, rules.types.size]).toEqual([0, 0]);
  });

  it('refuses a version it does not know and malformed arguments', () => {
    expect(() => readAuthorizationRules(supergraph('@link(url: "https://specs.frontdesk.dev/authz/v0.2", import: ["@authenticated"])', 'type Query { a: Int }'))).toThrow(
      new AuthorizationRulesError("the supergraph's authorization directives cannot be read: the schema links https://specs.frontdesk.dev/authz/v0.2; this version of frontdesk understands https://specs.frontdesk.dev/authz/v0.1: link that version — upgrade the gateway or import a version it knows"),
    );
    expect(() =>
      readAuthorizationRules(supergraph('@link(url: "https://specs.frontdesk.dev/authz/v0.1", import: ["@requiresScopes"])', 'type Query { a: Int @requiresScopes(scopes: [[1]]) }')),
    ).toThrow('@requiresScopes(scopes:) must be a list of lists of strings');
  });
});
