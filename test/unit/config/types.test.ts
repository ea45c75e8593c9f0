/**
 * The config types are derived from the table (gateway/config/types.ts). These assertions are checked by
 * `npm run typecheck` (vitest's expectTypeOf): they fail when a table change would change the shape the
 * rest of the gateway reads. The runtime part checks that the loader returns that shape.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { parseConfig } from '../../../gateway/config/load.ts';
import type { ClaimMapping, GatewayConfig, IdentityKeyConfig, JwtIssuerConfig, RateLimitConfig, SessionsConfig, SubgraphOverride } from '../../../gateway/config/types.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

type SubgraphTls = { ca: string | undefined; cert: string | undefined; key: string | undefined };

describe('config types', () => {
  it('keep the shape the gateway reads', () => {
    expectTypeOf<GatewayConfig['listen']>().toEqualTypeOf<{
      host: string;
      port: number;
      tls: { cert: string; key: string; clientCa: string | undefined; clientCert: 'optional' | 'required' } | undefined;
    }>();
    expectTypeOf<GatewayConfig['server']>().toEqualTypeOf<{
      keepAliveTimeoutMs: number;
      requestTimeoutMs: number;
      headersTimeoutMs: number;
      bodyTimeoutMs: number;
      deadlineMs: number;
      maxHeaderBytes: number;
    }>();
    expectTypeOf<GatewayConfig['admission']>().toEqualTypeOf<{ maxInFlight: number; queue: number; queueTimeoutMs: number; standingQueueTimeoutMs: number; eventLoopDelayTargetMs: number; latencyTolerance: number; retryAfterMs: number }>();
    expectTypeOf<GatewayConfig['subgraphDefaults']>().toEqualTypeOf<{
      timeoutMs: number;
      concurrency: number | undefined;
      queueTimeoutMs: number;
      breaker: { failures: number; coolDownMs: number };
      dedup: boolean;
      maxConnections: number;
      keepAliveTimeoutMs: number;
      maxResponseBytes: number;
      tls: SubgraphTls | undefined;
    }>();
    expectTypeOf<SubgraphOverride>().toEqualTypeOf<{ url: string | undefined; timeoutMs: number | undefined; concurrency: number | undefined; queueTimeoutMs: number | undefined; tls: SubgraphTls | undefined }>();
    expectTypeOf<GatewayConfig['limits']>().toEqualTypeOf<{ bodyBytes: number; depth: number; aliases: number; tokens: number; directives: number; cost: number; batchedOperations: number }>();
    expectTypeOf<GatewayConfig['auth']['cache']>().toEqualTypeOf<{ maxEntries: number; ttlMs: number }>();
    expectTypeOf<ClaimMapping>().toEqualTypeOf<{ subject: string; scopes: readonly string[]; roles: readonly string[]; tenant: string | undefined; clientId: readonly string[] }>();
    expectTypeOf<JwtIssuerConfig['jwks']>().toEqualTypeOf<{ kind: 'url'; url: string } | { kind: 'file'; path: string } | { kind: 'discovery'; url: string }>();
    expectTypeOf<JwtIssuerConfig['jwksMaxAgeMs']>().toEqualTypeOf<number>();
    expectTypeOf<IdentityKeyConfig>().toEqualTypeOf<{ file: string; kid: string | undefined; alg: 'EdDSA' | 'ES256' | undefined }>();
    expectTypeOf<GatewayConfig['cors']>().toEqualTypeOf<{ origins: readonly string[]; credentials: boolean; maxAgeMs: number; allowHeaders: readonly string[]; exposeHeaders: readonly string[] }>();
    // Sessions are off (undefined) unless configured; when on, the client registration is complete.
    expectTypeOf<undefined>().toExtend<GatewayConfig['sessions']>();
    expectTypeOf<Pick<SessionsConfig, 'issuer' | 'clientId' | 'clientSecret' | 'redirectUri'>>().toEqualTypeOf<{ issuer: string; clientId: string; clientSecret: string; redirectUri: string }>();
    expectTypeOf<SessionsConfig['appOrigins']>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<SessionsConfig['refreshBeforeMs']>().toEqualTypeOf<number>();
    expectTypeOf<GatewayConfig['logLevel']>().toEqualTypeOf<'debug' | 'info' | 'warn' | 'error' | 'silent'>();
    expectTypeOf<GatewayConfig['logFormat']>().toEqualTypeOf<'json' | 'pretty'>();
    expectTypeOf<GatewayConfig['metrics']>().toEqualTypeOf<{ listen: { host: string; port: number | undefined } }>();
    // Rate limits are off (undefined) unless configured.
    expectTypeOf<undefined>().toExtend<GatewayConfig['rateLimit']>();
    expectTypeOf<RateLimitConfig['failedAuth']>().toEqualTypeOf<{ perAddress: number; perApiKey: number; windowMs: number }>();
    expectTypeOf<RateLimitConfig['storeUnavailable']>().toEqualTypeOf<'open' | 'closed'>();
    expectTypeOf<GatewayConfig['tracing']>().toEqualTypeOf<{ otlp: { endpoint: string | undefined; headers: readonly string[]; protocol: 'http/protobuf' | 'http/json' }; sampler: { ratio: number } }>();

    const config = parseConfig({ supergraph: SUPERGRAPH, identity: { issuer: 'https://gw', keys: [{ file: '/k.json' }], devKeys: true } }, { env: {} });
    expect(Object.keys(config)).toEqual([
      'source', 'production', 'listen', 'server', 'admission', 'supergraph', 'subgraphs', 'subgraphDefaults', 'forwardHeaders', 'limits', 'auth', 'identity',
      'cors', 'sessions', 'logLevel', 'logFormat', 'metrics', 'tracing', 'store', 'revocation', 'admin', 'rateLimit', 'shutdownDelayMs', 'shutdownGraceMs',
    ]);
    expect(config.sessions).toBeUndefined();
    expect(config.rateLimit).toBeUndefined();
    expect(config.cors.origins).toEqual([]);
    expect(config.metrics.listen.port).toBeUndefined();
    expect(config.tracing).toEqual({ otlp: { endpoint: undefined, headers: [], protocol: 'http/protobuf' }, sampler: { ratio: 0.1 } });
    expect(config.revocation).toEqual({ retentionMs: undefined, maxEntries: 100_000 });
    expect(config.admin).toEqual({ token: undefined });
    expect(config.shutdownDelayMs).toBe(5_000);
    expect(Object.keys(config.identity.keys[0] ?? {})).toEqual(['file', 'kid', 'alg']);
  });
});
