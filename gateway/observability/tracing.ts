/**
 * OpenTelemetry traces: the JS SDK's NodeTracerProvider with a batching OTLP/HTTP exporter (JSON
 * encoding), a parent-based ratio sampler, W3C trace context and an AsyncLocalStorage context manager.
 * Started by startGateway only when `tracing.otlp.endpoint` is set; otherwise nothing is registered and
 * every `@opentelemetry/api` call in the process (Apollo Gateway's own spans included) stays a no-op.
 *
 * No auto-instrumentation is used (no module patching), so the SDK's start need not precede any import:
 * frontdesk makes its own spans (./requests.ts, ./auth.ts, ./subgraph-fetch.ts) and Apollo Gateway makes
 * its plan/execute/fetch spans through the API's global tracer, which delegates once this registers.
 * Under an unsampled parent none of them is made at all (./unsampled-spans.ts).
 *
 * The provider is process-global (OpenTelemetry's API holds one): one traced gateway per process.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import type { TracingConfig } from '../config/types.ts';
import { UnsampledChildrenTracer } from './unsampled-spans.ts';

export const TRACER_NAME = 'frontdesk-gateway';

export interface Tracing {
  readonly tracer: Tracer;
  /** Exports what is buffered, then unregisters the provider. */
  shutdown(): Promise<void>;
}

export function startTracing(config: TracingConfig, service: { name: string; version: string }): Tracing | undefined {
  const { endpoint, headers } = config.otlp;
  if (endpoint === undefined) return undefined;
  const exporter = new OTLPTraceExporter({
    url: endpoint,
    headers: Object.fromEntries(headers.map((header) => [header.slice(0, header.indexOf('=')), header.slice(header.indexOf('=') + 1)])),
    timeoutMillis: 10_000,
  });
  const provider = new FrontdeskTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service.name, 'service.version': service.version }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampler.ratio) }),
    // Bounded: past 2 048 queued spans new ones are dropped rather than growing the heap.
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 2_048, scheduledDelayMillis: 1_000 })],
  });
  // Registers the provider, the W3C trace-context + baggage propagator and the AsyncLocalStorage context manager.
  provider.register();
  return {
    tracer: trace.getTracer(TRACER_NAME, service.version),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Every tracer it hands out, frontdesk's and Apollo Gateway's, makes no span under an unsampled parent (./unsampled-spans.ts). */
class FrontdeskTracerProvider extends NodeTracerProvider {
  override getTracer(name: string, version?: string, options?: { schemaUrl?: string }): Tracer {
    return new UnsampledChildrenTracer(super.getTracer(name, version, options));
  }
}
