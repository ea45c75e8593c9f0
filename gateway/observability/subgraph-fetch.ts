/**
 * Each sampled subgraph fetch, seen from outside: a CLIENT span (HTTP semantic-convention attributes)
 * that is the parent the subgraph continues — the data source injects the active context as
 * `traceparent` through its `traceHeaders` hook. The data source is wrapped only when tracing is on, and
 * an unsampled request's fetch passes straight through (no span, no await). The fetch metrics are the
 * data source's own hooks (../datasource.ts `metrics`).
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { context, propagation, SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type { GatewayContext } from '../context.ts';
import { resultOf } from '../datasource.ts';
import { requestTraceOf } from './requests.ts';

export function traceDataSource(inner: GraphQLDataSource<GatewayContext>, subgraph: { name: string; url: string }, tracer: Tracer): GraphQLDataSource<GatewayContext> {
  const url = new URL(subgraph.url);
  const attributes = {
    'http.request.method': 'POST',
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    'url.full': `${url.origin}${url.pathname}`,
    'frontdesk.subgraph.name': subgraph.name,
  };
  const traced = async (options: GraphQLDataSourceProcessOptions<GatewayContext>, span: Span): Promise<GatewayGraphQLResponse> => {
    try {
      const response = await inner.process(options);
      const result = resultOf(response);
      span.setAttribute('frontdesk.subgraph.result', result);
      if (result === 'unavailable') span.setStatus({ code: SpanStatusCode.ERROR, message: 'SUBGRAPH_UNAVAILABLE' });
      return response;
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  };
  return {
    // A span only for a sampled request's fetch: an unsampled one has no span to be the parent (./tracing.ts).
    process(options) {
      const operation = operationOf(options);
      if (!operation || !requestTraceOf(operation)?.span) return inner.process(options);
      return tracer.startActiveSpan(`subgraph ${subgraph.name}`, { kind: SpanKind.CLIENT, attributes }, (span) => traced(options, span));
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
