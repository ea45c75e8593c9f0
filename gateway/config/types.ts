/**
 * The gateway's validated, frozen configuration (public API). The shapes are derived from the config
 * table (./table/), so a key is declared once: durations are in milliseconds and named `xMs`, sizes are
 * in bytes, paths are absolute.
 */
import type { OutputOf } from './table/fields.ts';
import type { CONFIG_TABLE } from './table/index.ts';

export type { KeySetSource } from './table/auth.ts';

type FromTable = OutputOf<typeof CONFIG_TABLE>;

export interface GatewayConfig extends FromTable {
  /** Absolute path of the file this was read from, or undefined. */
  source: string | undefined;
  /** NODE_ENV=production. */
  production: boolean;
}

export type ServerConfig = GatewayConfig['server'];
export type SubgraphDefaults = GatewayConfig['subgraphDefaults'];
export type SubgraphOverride = GatewayConfig['subgraphs'][string];
export type LimitsConfig = GatewayConfig['limits'];
export type AuthConfig = GatewayConfig['auth'];
export type JwtIssuerConfig = AuthConfig['jwt'][number];
export type ClaimMapping = JwtIssuerConfig['claims'];
export type IdentityConfig = GatewayConfig['identity'];
export type IdentityKeyConfig = IdentityConfig['keys'][number];
export type LogLevel = GatewayConfig['logLevel'];
export type LogFormat = GatewayConfig['logFormat'];
export type MetricsConfig = GatewayConfig['metrics'];
export type TracingConfig = GatewayConfig['tracing'];
/** undefined: no shared store (state in memory). */
export type RedisConfig = NonNullable<GatewayConfig['store']>['redis'];
export type RevocationConfig = GatewayConfig['revocation'];
/** undefined: rate limiting is off. */
export type RateLimitConfig = NonNullable<GatewayConfig['rateLimit']>;
export type RateLimitRule = RateLimitConfig['rules'][number];
export type ListenTlsConfig = NonNullable<GatewayConfig['listen']['tls']>;
export type SubgraphTlsConfig = NonNullable<SubgraphDefaults['tls']>;
export type IntrospectionConfig = AuthConfig['introspection'][number];
export type ApiKeysConfig = NonNullable<AuthConfig['apiKeys']>;
export type MtlsConfig = AuthConfig['mtls'];
export type CertificateIdentityConfig = MtlsConfig['identities'][number];
export type CorsConfig = GatewayConfig['cors'];
/** undefined: sessions are off. */
export type SessionsConfig = NonNullable<GatewayConfig['sessions']>;
