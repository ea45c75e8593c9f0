/**
 * Each subgraph fetch, seen from outside: a CLIENT span (HTTP semantic-convention attributes) that is
 * the parent the subgraph continues — the data source injects the active context as `traceparent`
 * through its `traceHeaders` hook — and the fetch duration by subgraph and result. The data source and
 * the minter are wrapped, not changed; with metrics and tracing off, neither wrapper is installed.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { context, propagation, SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type { GatewayContext } from '../context.ts';
import type { IdentityMinter } from '../identity/mint.ts';
import type { GatewayMetrics, SubgraphResult } from './metrics.ts';
import { requestTraceOf } from './requests.ts';

export interface FetchObserverOptions {
  metrics?: GatewayMetrics;
  tracer?: Tracer;
}

export function observeDataSource(
  inner: GraphQLDataSource<GatewayContext>,
  subgraph: { name: string; url: string },
  { metrics, tracer }: FetchObserverOptions,
): GraphQLDataSource<GatewayContext> {
  const url = new URL(subgraph.url);
  const attributes = {
    'http.request.method': 'POST',
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    'url.full': `${url.origin}${url.pathname}`,
    'frontdesk.subgraph.name': subgraph.name,
  };
  const measured = async (options: GraphQLDataSourceProcessOptions<GatewayContext>, span: Span | undefined): Promise<GatewayGraphQLResponse> => {
    const started = performance.now();
    try {
      const response = await inner.process(options);
      const result = resultOf(response);
      metrics?.subgraphFetch(subgraph.name, result, (performance.now() - started) / 1000);
      if (span) {
        span.setAttribute('frontdesk.subgraph.result', result);
        if (result === 'unavailable') span.setStatus({ code: SpanStatusCode.ERROR, message: 'SUBGRAPH_UNAVAILABLE' });
      }
      return response;
    } catch (error) {
      metrics?.subgraphFetch(subgraph.name, 'unavailable', (performance.now() - started) / 1000);
      span?.recordException(error as Error);
      span?.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span?.end();
    }
  };
  return {
    // A span only for a sampled request's fetch: an unsampled one has no span to be the parent (./tracing.ts).
    process(options) {
      const operation = operationOf(options);
      if (!tracer || !operation || !requestTraceOf(operation)?.span) return measured(options, undefined);
      return tracer.startActiveSpan(`subgraph ${subgraph.name}`, { kind: SpanKind.CLIENT, attributes }, (span) => measured(options, span));
    },
  };
}

/**
 * The data source's `traceHeaders` hook: a sampled request's active span (its fetch span) becomes the
 * subgraph's parent (W3C traceparent); an unsampled request sends its trace id with the unsampled flag.
 */
export function injectTraceContext(headers: Record<string, string>, operation: GatewayContext | undefined): void {
  const traced = operation && requestTraceOf(operation);
  if (traced) traced.inject(headers);
  else propagation.inject(context.active(), headers);
}

/** The operation's context, for a fetch made for an incoming operation (not the gateway's own). */
function operationOf(options: GraphQLDataSourceProcessOptions<GatewayContext>): GatewayContext | undefined {
  return 'incomingRequestContext' in options ? options.context : undefined;
}

export function observeMinter(mint: IdentityMinter, metrics: GatewayMetrics): IdentityMinter {
  return async (principal, subgraph, request) => {
    const token = await mint(principal, subgraph, request);
    metrics.identityTokenMinted(subgraph);
    return token;
  };
}

function resultOf(response: GatewayGraphQLResponse): SubgraphResult {
  const errors = response.errors;
  if (!errors || errors.length === 0) return 'ok';
  return errors.some((error) => error.extensions?.code === 'SUBGRAPH_UNAVAILABLE') ? 'unavailable' : 'graphql_error';
}
