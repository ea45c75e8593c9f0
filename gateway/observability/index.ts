/**
 * The observability room (docs/architecture.md): metrics, traces and the access and audit logs, made
 * once per gateway from the config and handed to server.ts as small wrappers and hooks. What is off
 * costs nothing on the request path: without `metrics.listen.port` no registry exists and no counter is
 * touched; without `tracing.otlp.endpoint` no SDK is registered and no span is made.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLDataSource } from '@apollo/gateway';
import type { Authenticator } from '../auth/authenticate.ts';
import type { GatewayConfig } from '../config/types.ts';
import type { GatewayContext } from '../context.ts';
import type { SubgraphFetchMetrics } from '../datasource.ts';
import type { Logger } from '../log.ts';
import type { OverloadListener } from '../overload-events.ts';
import { FAILED_AUTH_RULES } from '../config/table/rate-limit.ts';
import type { RateLimitListener } from '../rate-limit/events.ts';
import { observeAuthenticator } from './auth.ts';
import { startMetricsListener } from './metrics-listener.ts';
import { createMetrics, type GatewayMetrics } from './metrics.ts';
import { createRequestObserver, type RequestObserver } from './requests.ts';
import { injectTraceContext, traceDataSource } from './subgraph-fetch.ts';
import { startTracing } from './tracing.ts';

export interface Observability {
  readonly requests: RequestObserver;
  /** http://host:port/metrics, when metrics are on. */
  readonly metricsUrl: string | undefined;
  /** The key sets' onFetch hook (key set and discovery fetches), when metrics are on. */
  readonly onKeySetFetch: ((issuer: string, ok: boolean) => void) | undefined;
  /** The overload protection's events (sheds, breaker states, shared fetches), when metrics are on. */
  readonly onOverloadEvent: OverloadListener | undefined;
  /** Rate limiting's events (refusals by rule, decisions without the store), when metrics are on. */
  readonly onRateLimitEvent: RateLimitListener | undefined;
  /** The data source's hook that writes the operation's trace context into a subgraph request, when tracing is on. */
  readonly traceHeaders: ((headers: Record<string, string>, operation: GatewayContext | undefined) => void) | undefined;
  /** The data sources' metrics (tokens minted, fetch durations by result), when metrics are on. */
  readonly fetchMetrics: SubgraphFetchMetrics | undefined;
  authenticator(inner: Authenticator): Authenticator;
  /** The data source with a CLIENT span for each sampled fetch, when tracing is on. */
  dataSource(inner: GraphQLDataSource<GatewayContext>, subgraph: { name: string; url: string }): GraphQLDataSource<GatewayContext>;
  /** A revocation applied to this instance's list, when metrics are on. */
  readonly onRevocationApplied: ((kind: string) => void) | undefined;
  /** Reads the revocation list's size at scrape time (when metrics are on). */
  watchRevocationList(size: () => number): void;
  /** Serves `/admin/*` on the metrics listener; false when there is no listener. */
  mountAdmin(handler: (req: IncomingMessage, res: ServerResponse) => void): boolean;
  /** Stops the metrics listener and flushes the buffered spans. */
  close(): Promise<void>;
}

export const SERVICE = { name: 'frontdesk-gateway', version: '0.1.0' };

export async function startObservability(config: GatewayConfig, log: Logger): Promise<Observability> {
  const tracing = startTracing(config.tracing, SERVICE);
  const tracer = tracing?.tracer;
  let authStats: Authenticator['stats'] | undefined;
  const metrics: GatewayMetrics | undefined =
    config.metrics.listen.port === undefined
      ? undefined
      : createMetrics({
          issuers: config.auth.jwt.map((issuer) => issuer.issuer),
          authStats: { get verifications() { return authStats?.verifications ?? 0; }, get cacheHits() { return authStats?.cacheHits ?? 0; } },
          rateLimitRules: config.rateLimit ? [...config.rateLimit.rules.map((rule) => rule.name), ...Object.values(FAILED_AUTH_RULES)] : [],
        });
  let listener: Awaited<ReturnType<typeof startMetricsListener>> | undefined;
  try {
    if (metrics && config.metrics.listen.port !== undefined) listener = await startMetricsListener(metrics, { host: config.metrics.listen.host, port: config.metrics.listen.port }, log);
  } catch (error) {
    await tracing?.shutdown();
    throw error;
  }
  if (listener) log.info('metrics listening', { url: listener.url });
  if (tracing) log.info('tracing on', { endpoint: config.tracing.otlp.endpoint, ratio: config.tracing.sampler.ratio });

  return {
    requests: createRequestObserver({ log, ...(metrics ? { metrics } : {}), ...(tracing ? { tracing } : {}) }),
    metricsUrl: listener?.url,
    onKeySetFetch: metrics ? (issuer, ok) => metrics.keySetFetch(issuer, ok) : undefined,
    onOverloadEvent: metrics ? (event) => metrics.overload(event) : undefined,
    onRateLimitEvent: metrics ? (event) => metrics.rateLimit(event) : undefined,
    traceHeaders: tracer ? injectTraceContext : undefined,
    fetchMetrics: metrics,
    authenticator(inner) {
      authStats = inner.stats;
      return observeAuthenticator(inner, { log, maxTokenBytes: config.auth.maxTokenBytes, ...(metrics ? { metrics } : {}), ...(tracer ? { tracer } : {}) });
    },
    onRevocationApplied: metrics ? (kind) => metrics.revocationApplied(kind) : undefined,
    watchRevocationList: (size) => metrics?.watchRevocationList(size),
    mountAdmin(handler) {
      listener?.mountAdmin(handler);
      return listener !== undefined;
    },
    dataSource: (inner, subgraph) => (tracer ? traceDataSource(inner, subgraph, tracer) : inner),
    async close() {
      await listener?.close();
      await tracing?.shutdown();
    },
  };
}
