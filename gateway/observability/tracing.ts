/**
 * OpenTelemetry traces: the JS SDK's NodeTracerProvider with a batching OTLP/HTTP exporter (binary
 * protobuf by default, JSON on request: `tracing.otlp.protocol`), a parent-based ratio sampler, W3C trace
 * context and an AsyncLocalStorage context manager.
 * Started by startGateway only when `tracing.otlp.endpoint` is set; otherwise nothing is registered and
 * every `@opentelemetry/api` call in the process (Apollo Gateway's own spans included) stays a no-op.
 *
 * No auto-instrumentation is used (no module patching), so the SDK's start need not precede any import:
 * frontdesk makes its own spans (./requests.ts, ./auth.ts, ./subgraph-fetch.ts) and Apollo Gateway makes
 * its plan/execute/fetch spans through the API's global tracer, which delegates once this registers.
 *
 * Each request is sampled once, when it arrives and before any span exists (`startRequest`), by the
 * parent-based rule: a continued trace keeps the client's decision (its `traceparent` flags), a new one is
 * drawn at `ratio`. An unsampled request — 90 % of them at a 0.1 ratio — gets no span and never enters a
 * context: it only carries its trace id, for the logs and for the `traceparent` (flags 00) its subgraphs
 * receive. Every other span is made only under a sampled parent (./unsampled-spans.ts). So what an
 * unsampled request costs is one random draw and two random ids (docs/performance.md "Observability").
 *
 * The provider is process-global (OpenTelemetry's API holds one): one traced gateway per process.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { TracingConfig } from '../config/types.ts';
import { protobufTraceExporter } from './otlp-protobuf.ts';
import { RecordedSpan, SPAN_LIMITS, type SpanScope } from './recorded-span.ts';
import { RequestContextManager } from './request-context.ts';
import { RequestIds } from './trace-ids.ts';
import { SampledChildrenTracer } from './unsampled-spans.ts';

export const TRACER_NAME = 'frontdesk-gateway';

/** Where one request stands in its trace, decided when it arrives. */
export interface RequestTrace {
  readonly traceId: string;
  /** The request's SERVER span when it is sampled; an unsampled request has none. */
  readonly span: Span | undefined;
  /** The context a sampled request runs in (its span's); an unsampled request enters none. */
  readonly context: Context | undefined;
  /**
   * Writes the trace context into a subgraph request's headers. Sampled: the active span's (the fetch
   * span). Unsampled: the trace id, one span id of the gateway's for the whole request, the unsampled flag,
   * and the client's `tracestate` and `baggage`.
   */
  inject(headers: Record<string, string>): void;
  /** The response is done: its status goes on the span, which ends. */
  end(status: number): void;
}

export interface Tracing {
  /** For spans inside a request: made only under a sampled parent. */
  readonly tracer: Tracer;
  /** The client's W3C trace context continued (a malformed one starts a new trace), and sampled. */
  startRequest(name: string, headers: IncomingHttpHeaders): RequestTrace;
  /** Exports what is buffered, then unregisters the provider. */
  shutdown(): Promise<void>;
}

export function startTracing(config: TracingConfig, service: { name: string; version: string }): Tracing | undefined {
  const { endpoint, headers } = config.otlp;
  if (endpoint === undefined) return undefined;
  const exporterConfig = {
    url: endpoint,
    headers: Object.fromEntries(headers.map((header) => [header.slice(0, header.indexOf('=')), header.slice(header.indexOf('=') + 1)])),
    timeoutMillis: 10_000,
  };
  // Protobuf is written straight from the spans into one buffer (./otlp-protobuf.ts); JSON, the SDK's, first
  // builds an object per span and attribute, then a string (`npm run bench:tracing`, docs/performance.md
  // "Observability"). Spans are encoded a batch at a time: encoding each as it ended cost more, the encoder
  // being cold at each call (docs/performance.md "Observability", tenth pass).
  const exporter = config.otlp.protocol === 'http/json' ? new JsonTraceExporter(exporterConfig) : protobufTraceExporter(exporterConfig);
  // Bounded: past 2 048 queued spans new ones are dropped rather than growing the heap.
  const processor: SpanProcessor = new BatchSpanProcessor(exporter, { maxQueueSize: 2_048, scheduledDelayMillis: 1_000 });
  const ratio = config.sampler.ratio;
  const ids = new RequestIds();
  const contextManager = new RequestContextManager();
  const resource = resourceFromAttributes({ 'service.name': service.name, 'service.version': service.version });
  const provider = new FrontdeskTracerProvider(
    { idle: () => contextManager.idle, resource, processor, ids },
    // The SDK's tracer makes only what frontdesk's spans do not cover: roots, and children of a remote parent.
    { resource, sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }), idGenerator: ids, spanLimits: SPAN_LIMITS, spanProcessors: [processor] },
  );
  // Registers the provider, the W3C trace-context + baggage propagator and the context manager.
  provider.register({ contextManager });
  const requestScope = provider.scope(TRACER_NAME, service.version);
  return {
    tracer: trace.getTracer(TRACER_NAME, service.version),
    startRequest(name, requestHeaders) {
      // Only the W3C trace-context and baggage propagators are registered: with neither header there is nothing to extract.
      const bare = requestHeaders.traceparent === undefined && requestHeaders.baggage === undefined;
      const parent = bare ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, requestHeaders);
      const remote = bare ? undefined : trace.getSpanContext(parent);
      const continued = remote !== undefined && isSpanContextValid(remote);
      const traceId = continued ? remote.traceId : ids.generateTraceId();
      // The parent-based sampler's rule, without its per-call checks (the ids were just validated or made).
      if (continued ? (remote.traceFlags & TraceFlags.SAMPLED) !== 0 : Math.random() < ratio) {
        const spanContext: SpanContext = { traceId, spanId: ids.generateSpanId(), traceFlags: TraceFlags.SAMPLED };
        if (remote?.traceState) spanContext.traceState = remote.traceState;
        const span = new RecordedSpan(requestScope, spanContext, name, SpanKind.SERVER, continued ? remote : undefined, {});
        contextManager.requestStarted();
        const end = (status: number) => {
          span.setAttribute('http.response.status_code', status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
          contextManager.requestEnded();
        };
        return { traceId, span, context: trace.setSpan(parent, span), inject: injectActive, end };
      }
      return new UnsampledTrace(traceId, ids, bare ? undefined : { remote: continued ? remote : undefined, parent });
    },
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/**
 * Apollo Gateway's spans folded into their parent (./unsampled-spans.ts): validation and result
 * post-processing, short and synchronous; and execution, which only brackets the fetch spans that are kept
 * (each `gateway.fetch` and its subgraph's CLIENT span). A sampled request's tracing cost grows
 * with its spans (docs/performance.md "Observability"), and a trace reader loses no step.
 */
const FOLDED_APOLLO_SPANS: ReadonlySet<string> = new Set(['gateway.validate', 'gateway.execute', 'gateway.postprocessing']);
/**
 * And `gateway.request` merged into the request's SERVER span (./unsampled-spans.ts `MergedSpan`): its
 * attributes (operation name and type) and its status (ERROR when the response carries errors) go on the
 * SERVER span, whose children the plan and fetch spans then are. It spanned Apollo Gateway's execution,
 * which the SERVER span holds along with `authenticate`, parsing and the response: one span of five in a
 * sampled one-fetch request, for no step a trace reader could not see otherwise (docs/performance.md
 * "Observability", eleventh pass).
 */
const MERGED_APOLLO_SPANS: ReadonlySet<string> = new Set(['gateway.request']);
const APOLLO_GATEWAY_TRACER = 'apollo/gateway-js';

/**
 * Every tracer it hands out, frontdesk's and Apollo Gateway's, makes spans only under a sampled parent, and
 * records a recorded span's children itself (./unsampled-spans.ts, ./recorded-span.ts). One tracer and one
 * instrumentation scope per name and version, as the SDK keeps them: the exporter groups spans by scope.
 */
class FrontdeskTracerProvider extends NodeTracerProvider {
  readonly #recording: Omit<SpanScope, 'instrumentationScope'> & { idle: () => boolean };
  readonly #tracers = new Map<string, { tracer: Tracer; scope: SpanScope }>();

  constructor(recording: Omit<SpanScope, 'instrumentationScope'> & { idle: () => boolean }, config: ConstructorParameters<typeof NodeTracerProvider>[0]) {
    super(config);
    this.#recording = recording;
  }

  override getTracer(name: string, version?: string, options?: { schemaUrl?: string }): Tracer {
    return this.#entry(name, version, options).tracer;
  }

  /** The scope a request's own span is recorded in (`startRequest`). */
  scope(name: string, version: string): SpanScope {
    return this.#entry(name, version).scope;
  }

  #entry(name: string, version?: string, options?: { schemaUrl?: string }): { tracer: Tracer; scope: SpanScope } {
    const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
    let entry = this.#tracers.get(key);
    if (!entry) {
      const { idle, resource, processor, ids } = this.#recording;
      const scope: SpanScope = { resource, processor, ids, instrumentationScope: { name, ...(version !== undefined ? { version } : {}), ...(options?.schemaUrl !== undefined ? { schemaUrl: options.schemaUrl } : {}) } };
      const tracer = new SampledChildrenTracer(super.getTracer(name, version, options), { idle, scope, ...(name === APOLLO_GATEWAY_TRACER ? { fold: FOLDED_APOLLO_SPANS, merge: MERGED_APOLLO_SPANS } : {}) });
      this.#tracers.set(key, (entry = { tracer, scope }));
    }
    return entry;
  }
}

const injectActive = (headers: Record<string, string>) => propagation.inject(context.active(), headers);

/**
 * An unsampled request's place in its trace. Its `traceparent` is written directly, without a context
 * or the propagator's checks (the trace id was just validated or made; the span id is the SDK's, made once
 * on the first subgraph fetch): the W3C trace-context format (https://www.w3.org/TR/trace-context/
 * "traceparent Header"), version 00, flags 00. A client's `baggage` goes through the propagator as before.
 * One object per request and no closures: this is what 90 % of requests make at a 0.1 ratio.
 */
class UnsampledTrace implements RequestTrace {
  readonly traceId: string;
  readonly span = undefined;
  readonly context = undefined;
  readonly #ids: RequestIds;
  /** The client's trace context, when it sent a `traceparent` or `baggage` header. */
  readonly #client: { remote: SpanContext | undefined; parent: Context } | undefined;
  #traceparent: string | undefined;

  constructor(traceId: string, ids: RequestIds, client: { remote: SpanContext | undefined; parent: Context } | undefined) {
    this.traceId = traceId;
    this.#ids = ids;
    this.#client = client;
  }

  inject(headers: Record<string, string>): void {
    const traceparent = (this.#traceparent ??= `00-${this.traceId}-${this.#ids.generateSpanId()}-00`);
    const client = this.#client;
    if (client === undefined) {
      headers.traceparent = traceparent;
      return;
    }
    const traceState = client.remote?.traceState;
    if (propagation.getBaggage(client.parent) !== undefined) {
      const spanContext = { traceId: this.traceId, spanId: traceparent.slice(36, 52), traceFlags: TraceFlags.NONE, ...(traceState ? { traceState } : {}) };
      propagation.inject(trace.setSpanContext(client.parent, spanContext), headers);
      return;
    }
    headers.traceparent = traceparent;
    if (traceState) headers.tracestate = traceState.serialize();
  }

  end(): void {}
}
