/**
 * Every default of gateway.yaml, with its unit. README's configuration reference is written from this
 * table; test/unit/config/docs-drift.test.ts fails when a key here is missing from the README.
 */
import { IDENTITY_HEADER } from '../../subgraphs/kit/contract.ts';

export const DEFAULTS = {
  /** Address to bind. */
  'listen.host': '127.0.0.1',
  /** TCP port; 0 picks a free one. */
  'listen.port': 4000,
  /** Supergraph SDL path, relative to the config file. Reloaded when the file changes. */
  supergraph: 'schema/supergraph.graphql',
  /** Per-subgraph request timeout (connect to last byte). */
  'subgraphDefaults.timeout': '10s',
  /** Keep-alive connections kept per subgraph. */
  'subgraphDefaults.maxConnections': 64,
  /** Client headers forwarded to subgraphs; identity-bearing headers can never be listed. */
  forwardHeaders: ['x-request-id', 'traceparent', 'tracestate', 'baggage', 'accept-language'],
  /** Largest request body, in bytes (1 MiB). Larger bodies get 413. */
  'limits.bodyBytes': 1_048_576,
  /** Deepest field nesting of an operation (GraphQL Armor max-depth). */
  'limits.depth': 10,
  /** Most aliases in an operation (GraphQL Armor max-aliases). */
  'limits.aliases': 15,
  /** Most parser tokens in a document (enforced by graphql-js's parser). */
  'limits.tokens': 2_000,
  /** Most directives in an operation (GraphQL Armor max-directives). */
  'limits.directives': 50,
  /** Highest operation cost (GraphQL Armor cost-limit: fields, depth and fragments weighted). */
  'limits.cost': 5_000,
  /** Most operations in one batched HTTP request; 0 turns batching off. */
  'limits.batchedOperations': 0,
  /** Anonymous callers proceed (true) or get 401 (false). */
  'auth.anonymous': true,
  /** realm of WWW-Authenticate challenges. */
  'auth.realm': 'frontdesk',
  /** Longest accepted credential, in bytes; longer ones are refused before any parsing or crypto. */
  'auth.maxTokenBytes': 8_192,
  /** Verified-token cache entries (LRU). */
  'auth.cache.maxEntries': 10_000,
  /** Longest reuse of a verification result; never past the token's exp. */
  'auth.cache.ttl': '60s',
  /** Per issuer: accepted algorithms. HMAC and none are never accepted. */
  'auth.jwt[].algorithms': ['RS256', 'ES256', 'EdDSA'],
  /** Per issuer: allowed clock skew for exp, nbf and iat. */
  'auth.jwt[].clockTolerance': '30s',
  /** Per issuer: longest accepted token lifetime (exp − iat). */
  'auth.jwt[].maxLifetime': '24h',
  /** Per issuer: required JOSE typ, e.g. at+jwt (RFC 9068). Unset: typ not checked. */
  'auth.jwt[].typ': undefined,
  /** Per issuer: claim names. Dotted paths reach nested claims (realm_access.roles). */
  'auth.jwt[].claims': { subject: 'sub', scopes: ['scope', 'scp'], roles: ['roles'], tenant: undefined, clientId: ['client_id', 'azp'] },
  /** Per issuer: namespace of its principal ids; issuers given the same one share an account space. Unset: the issuer. */
  'auth.jwt[].principalNamespace': undefined,
  /** Per issuer: key set fetch timeout. */
  'auth.jwt[].jwksTimeout': '5s',
  /** Per issuer: least time between two key set fetches caused by an unknown kid. */
  'auth.jwt[].jwksCooldown': '30s',
  /** Per issuer: key set age after which it is refreshed in the background. */
  'auth.jwt[].jwksMaxAge': '10m',
  /** iss of identity tokens. Required. */
  'identity.issuer': undefined,
  /** Header carrying the identity token to subgraphs. */
  'identity.header': IDENTITY_HEADER,
  /** Identity token lifetime (never past the credential's own expiry). */
  'identity.ttl': '60s',
  /** Signing keys (files); the first private key signs, all are published. Required. */
  'identity.keys': undefined,
  /** Generate missing key files on boot (development only; refused in production). */
  'identity.devKeys': false,
  /** debug | info | warn | error | silent. */
  logLevel: 'info',
  /** On SIGTERM, how long in-flight requests may finish before the process exits. */
  shutdownGrace: '10s',
} as const;
