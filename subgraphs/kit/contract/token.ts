/**
 * The identity token, version 1: its transport, header, claims and bounds, as specified in
 * docs/identity-token.md. The gateway's minter and the kit's verifier both read these; nothing here
 * depends on either side.
 */

/** The contract version this code mints and accepts (docs/identity-token.md "Versions"). */
export const IDENTITY_TOKEN_VERSION = 1;

/** The HTTP header that carries the identity token on every gateway → subgraph request (configurable at both ends). */
export const IDENTITY_HEADER = 'frontdesk-identity';

/**
 * JOSE `typ` of identity tokens (RFC 8725 §3.11 explicit typing), carrying the contract version: no
 * access token, ID token or token of another contract version is accepted as a v1 identity token. Compared
 * as RFC 7515 §4.1.9 says: case-insensitively, with an optional `application/` prefix.
 */
export const IDENTITY_TOKEN_TYPE = `frontdesk-identity.v${IDENTITY_TOKEN_VERSION}+jwt`;

/** The only algorithms the gateway signs with and the kit accepts. */
export const IDENTITY_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type IdentityAlgorithm = (typeof IDENTITY_ALGORITHMS)[number];

/**
 * The longest an identity token may live (`exp − iat`), in seconds: the gateway's `identity.ttl` is at
 * most this, the kit refuses longer lifetimes.
 */
export const MAX_IDENTITY_TTL_SECONDS = 600;

/** Largest identity header value the kit reads, in bytes; larger ones are refused before any crypto. */
export const MAX_IDENTITY_TOKEN_BYTES = 8_192;

/**
 * How the caller proved who they are at the gateway, carried in `amr` (OIDC Core §2). `service` is the
 * gateway itself (health checks, schema loading).
 */
export const AUTH_METHODS = ['jwt', 'introspection', 'api_key', 'mtls', 'session', 'anonymous', 'service'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** Bounds on claim values, the same at the gateway (principal mapping) and the kit (verification). */
export const CLAIM_LIMITS = Object.freeze({
  /** `sub`, in characters. */
  subject: 255,
  /** Items of `scope` and `roles`. */
  items: 256,
  /** One scope or role, and `tenant`, `client_id`, in characters. */
  item: 256,
  /** `orig_iss` and the namespace of a principal id before encoding, in characters. */
  issuer: 1_024,
  /** `pid`, in characters (method, encoded namespace, subject). */
  id: 4_096,
  /** `jti`, in characters. */
  tokenId: 255,
});

/** The payload of an identity token, v1. Registered claims per RFC 7519; the rest are frontdesk's. */
export interface IdentityClaims {
  iss: string;
  /** The subgraph's name in the supergraph: one string, never an array. */
  aud: string;
  /** Absent for anonymous callers. */
  sub?: string;
  /** The principal id (see principalId); absent for anonymous callers. */
  pid?: string;
  iat: number;
  exp: number;
  jti: string;
  /** The caller's scopes, one item each: never joined into a string. */
  scope: string[];
  roles: string[];
  tenant?: string;
  client_id?: string;
  /** Authentication method at the gateway: exactly one item in v1. */
  amr: [AuthMethod];
  /** The issuer that vouched for the caller (the IdP), absent for anonymous and service callers. */
  orig_iss?: string;
  /** Request binding: see requestBinding. */
  rbh: string;
}

/**
 * Why a verifier refuses an identity token: the rules of docs/identity-token.md "Verifying — the rules",
 * one code each, shared with the conformance vectors (conformance/README.md).
 */
export const REFUSAL_REASONS = [
  'absent', // no identity header
  'oversized', // identity header larger than MAX_IDENTITY_TOKEN_BYTES
  'malformed', // not a JWS compact serialisation, or header/payload not JSON objects
  'alg', // alg not EdDSA or ES256 (none, HS256, …)
  'typ', // typ not an identity token
  'version', // an identity token of another contract version
  'crit', // a crit header member
  'kid', // no key of the JWKS has this kid for this alg
  'signature', // the signature does not verify
  'iss', // iss missing or not the gateway
  'aud', // aud missing, not this subgraph, or not a single string
  'exp', // exp missing, not a number, or past (beyond the clock tolerance)
  'nbf', // nbf in the future (beyond the clock tolerance)
  'iat', // iat missing, not a number, or in the future (beyond the clock tolerance)
  'lifetime', // exp − iat negative or above MAX_IDENTITY_TTL_SECONDS
  'amr', // amr not an array of exactly one known method
  'claims', // another claim missing, ill-typed, out of bounds or inconsistent
  'binding', // rbh is not the binding of the request received
  'replay', // jti seen before (only with replay protection on)
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
