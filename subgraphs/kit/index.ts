/**
 * frontdesk subgraph kit — public API. The only module subgraph teams import.
 */
export {
  ANONYMOUS_FIELDS,
  IDENTITY_HEADER,
  IDENTITY_TOKEN_TYPE,
  IDENTITY_TOKEN_VERSION,
  IDENTITY_ALGORITHMS,
  parsePrincipalId,
  principalId,
  requestBinding,
  canonicalJson,
  type AuthMethod,
  type BoundRequest,
  type IdentityClaims,
  type PrincipalFields,
  type RefusalReason,
} from './contract.ts';
export {
  createIdentityVerifier,
  type Identity,
  type IdentityVerifier,
  type IdentityVerifierOptions,
  type HeaderSource,
  readHeader,
} from './identity.ts';
export { createMemoryReplayStore, type MemoryReplayStoreOptions, type ReplayStore, type ReplayStoreFull, type ReplayVerdict } from './replay.ts';
export { createRedisReplayStore, type RedisReplayClient, type RedisReplayStoreOptions } from './redis-replay.ts';
export { createContextFactory, isSdlOnlyQuery, type SubgraphContext, type SubgraphContextOptions, type ContextRequest } from './context.ts';
export { createSubgraphHandler, type SubgraphHandlerOptions } from './http.ts';
export { answerClientError } from './node-http.ts';
export { ERROR_CATALOGUE, type ErrorCode as CatalogueCode } from './catalogue.ts';
export { createLoader } from './loaders.ts';
export { AUTHZ_DENIED_CHANNEL, type AuthzDenial } from './telemetry.ts';
export { ErrorCode, IdentityError } from './errors.ts';
export { createRemoteKeySet, createStaticKeySet, KeySetUnavailableError, type KeySet, type RemoteKeySetOptions } from './key-set.ts';
export {
  applyAuthorization,
  AUTHZ_SPEC_URL,
  AUTHZ_DIRECTIVES_SDL,
  AUTHZ_LINK_SDL,
  type AuthorizationOptions,
  type Policy,
  // What the directives require of each field and type (names resolved through the schema's @link): for
  // reports such as `npm run authz`.
  createRequirementsReader,
  resolveAuthzDirectives,
  type Requirements,
  type RequirementsReader,
} from './authz/index.ts';
