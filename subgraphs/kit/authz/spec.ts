/**
 * frontdesk's authorization directives, as a @link spec. Subgraphs import them from this URL (never from
 * the federation spec: @apollo/gateway refuses supergraphs that link Apollo's own versions `for: SECURITY`)
 * and pass them to the supergraph with @composeDirective. Semantics are Apollo's: the outer list is OR,
 * each inner list AND.
 */
export const AUTHZ_SPEC_URL = 'https://specs.frontdesk.dev/authz/v0.1';

export const AUTHZ_DIRECTIVE_NAMES = ['authenticated', 'requiresScopes', 'policy'] as const;

const LOCATIONS = 'FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM';

/** The directive definitions every subgraph SDL that uses them must contain (rover reads the SDL file). */
export const AUTHZ_DIRECTIVES_SDL = `directive @authenticated on ${LOCATIONS}
directive @requiresScopes(scopes: [[String!]!]!) on ${LOCATIONS}
directive @policy(policies: [[String!]!]!) on ${LOCATIONS}`;

/** The schema extension that links and composes them; paste it at the top of a subgraph SDL. */
export const AUTHZ_LINK_SDL = `extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@composeDirective"])
  @link(url: "${AUTHZ_SPEC_URL}", import: ["@authenticated", "@requiresScopes", "@policy"])
  @composeDirective(name: "@authenticated")
  @composeDirective(name: "@requiresScopes")
  @composeDirective(name: "@policy")`;
