/** The gateway's validated, frozen configuration (public API). Durations are in milliseconds. */
import type { IdentityAlgorithm, LogLevel } from '../../subgraphs/kit/contract.ts';

export interface ClaimMapping {
  /** Claim holding the subject. Default `sub`. */
  subject: string;
  /** Claim(s) holding scopes: a space-separated string or an array. Default `scope`, then `scp`. */
  scopes: readonly string[];
  /** Claim(s) holding roles (an array, or a space-separated string). Dotted paths reach nested claims. Default `roles`. */
  roles: readonly string[];
  /** Claim holding the tenant. Default none. */
  tenant: string | undefined;
  /** Claim(s) holding the OAuth client id. Default `client_id`, then `azp`. */
  clientId: readonly string[];
}

export interface JwtIssuerConfig {
  /** Exact `iss` value. */
  issuer: string;
  /** Where the keys are: an http(s) URL, a file path, or undefined for OIDC discovery. */
  jwks: { kind: 'url'; url: string } | { kind: 'file'; path: string } | { kind: 'discovery'; url: string };
  /** Accepted `aud` values (any one must be present). */
  audience: readonly string[];
  algorithms: readonly string[];
  /** Required JOSE `typ` (e.g. `at+jwt` for RFC 9068 access tokens), or undefined to not check it. */
  typ: string | undefined;
  clockToleranceMs: number;
  /** Longest accepted token lifetime (exp − iat). */
  maxLifetimeMs: number;
  claims: ClaimMapping;
  /** Namespace of this issuer's principal ids (docs/identity-token.md "The principal id"); the issuer unless configured. */
  principalNamespace: string;
  jwksTimeoutMs: number;
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
}

export interface AuthConfig {
  /** Whether a request without credentials proceeds as anonymous (true) or gets 401 (false). */
  anonymous: boolean;
  /** `realm` of WWW-Authenticate challenges. */
  realm: string;
  /** Credentials longer than this are refused before any parsing or crypto, in bytes. */
  maxTokenBytes: number;
  /** Verified-token cache: entries, and the longest time a result is reused (never past `exp`). */
  cache: { maxEntries: number; ttlMs: number };
  jwt: readonly JwtIssuerConfig[];
}

export interface IdentityKeyConfig {
  /** A JWK file (private: signs and is published; public: published only) or a PKCS#8 PEM file. */
  file: string;
  /** Key id; required for PEM, taken from the JWK otherwise. */
  kid: string | undefined;
  /** EdDSA or ES256; required for PEM, taken from the JWK otherwise. */
  alg: IdentityAlgorithm | undefined;
}

export interface IdentityConfig {
  /** `iss` of identity tokens; subgraphs check it. */
  issuer: string;
  header: string;
  ttlMs: number;
  /** The first key with a private part signs; every key is published in the JWKS. */
  keys: readonly IdentityKeyConfig[];
  /** Generate missing key files (EdDSA). Refused in production. */
  devKeys: boolean;
}

export interface SubgraphOverride {
  url: string | undefined;
  timeoutMs: number | undefined;
}

export interface GatewayConfig {
  /** Absolute path of the file this was read from, or undefined. */
  source: string | undefined;
  production: boolean;
  listen: { host: string; port: number };
  /** Absolute path of the supergraph SDL. */
  supergraph: string;
  subgraphs: Readonly<Record<string, SubgraphOverride>>;
  subgraphDefaults: { timeoutMs: number; maxConnections: number };
  /** Client headers copied onto subgraph requests (lower case). Nothing else is forwarded. */
  forwardHeaders: readonly string[];
  limits: { bodyBytes: number; depth: number; aliases: number; tokens: number; directives: number; cost: number; batchedOperations: number };
  auth: AuthConfig;
  identity: IdentityConfig;
  logLevel: LogLevel;
  shutdownGraceMs: number;
}
