/**
 * The contract between the gateway and every subgraph, defined once and imported by both ends: the
 * identity token (contract/token.ts, contract/claims.ts), its request binding (contract/binding.ts) and
 * the answers and log levels both give (contract/operational.ts). Specified in docs/identity-token.md;
 * nothing under contract/ depends on the gateway or on the rest of the kit.
 */
export {
  IDENTITY_TOKEN_VERSION,
  IDENTITY_HEADER,
  IDENTITY_TOKEN_TYPE,
  IDENTITY_ALGORITHMS,
  MAX_IDENTITY_TTL_SECONDS,
  MAX_IDENTITY_TOKEN_BYTES,
  AUTH_METHODS,
  CLAIM_LIMITS,
  REFUSAL_REASONS,
  type IdentityAlgorithm,
  type AuthMethod,
  type IdentityClaims,
  type RefusalReason,
} from './contract/token.ts';
export {
  ANONYMOUS_FIELDS,
  ClaimError,
  isClaimItem,
  parsePrincipalId,
  principalClaims,
  principalId,
  readPrincipalClaims,
  UNSAFE_IN_ITEM,
  type PrincipalFields,
} from './contract/claims.ts';
export { canonicalJson, encodeBoundRequest, requestBinding, type BoundRequest } from './contract/binding.ts';
export { AUTH_RETRY_AFTER_SECONDS, LOG_LEVELS, type LogLevel } from './contract/operational.ts';
