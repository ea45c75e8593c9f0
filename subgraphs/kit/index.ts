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
  createMemoryReplayStore,
  type Identity,
  type IdentityVerifier,
  type IdentityVerifierOptions,
  type ReplayStore,
  type HeaderSource,
  readHeader,
} from './identity.ts';
export { createContextFactory, isSdlOnlyQuery, type SubgraphContext, type SubgraphContextOptions, type ContextRequest } from './context.ts';
export { createSubgraphHandler, type SubgraphHandlerOptions } from './http.ts';
export { createLoader } from './loaders.ts';
export { ErrorCode, IdentityError } from './errors.ts';
export { createRemoteKeySet, createStaticKeySet, KeySetUnavailableError, type KeySet, type RemoteKeySetOptions } from './key-set.ts';
export {
  applyAuthorization,
  AUTHZ_SPEC_URL,
  AUTHZ_DIRECTIVES_SDL,
  AUTHZ_LINK_SDL,
  type AuthorizationOptions,
  type Policy,
} from './authz/index.ts';
