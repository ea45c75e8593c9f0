/**
 * Spans inside a request are made only under a sampled parent. With the parent-based sampler of
 * ./tracing.ts a child of an unsampled span is never recorded (docs/production.md "Traces"), yet the SDK
 * would still give it a fresh id, check its attributes, ask the sampler, copy the context to hold it and
 * enter that context — for every span frontdesk and Apollo Gateway start, on the 90 % of requests a 0.1
 * ratio leaves out (docs/performance.md "Observability"). Here nothing of that happens:
 *
 * - under an unsampled parent, the parent's own non-recording span stands for the child;
 * - with no parent at all — an unsampled request runs in no context (./tracing.ts `startRequest`) — a
 *   non-recording span with the invalid span context stands for it;
 *
 * and the active context stays as it is. A child of a recorded span is recorded (./recorded-span.ts);
 * spans that ask to be a root (`root: true`) and children of a remote sampled parent go to the SDK's
 * tracer. A request's own span is started by ./tracing.ts `startRequest`.
 * While no sampled request is in flight (`idle`, from ./request-context.ts) no context can hold a sampled
 * parent, so the stand-in is given without reading the active context at all: at a 0.1 ratio that is
 * most of the time, and Apollo Gateway starts five spans or more per request.
 *
 * A tracer may also be told span names to fold into their parent (`fold`): even in a sampled request they
 * get a non-recording stand-in with the parent's span context, so the work is inside the parent's span and
 * what the caller does to its span (attributes, status, `end()`) goes nowhere. For Apollo Gateway's
 * `gateway.validate`, `gateway.execute` and `gateway.postprocessing` (./tracing.ts): their parent,
 * `gateway.request`, is marked ERROR when the response carries errors (docs/performance.md "Observability").
 *
 * And span names to merge into their parent (`merge`): under a recorded parent the caller gets a
 * `MergedSpan`, which writes what the caller records (attributes, events, exceptions, status) on the parent
 * and leaves the parent's end to its owner. For Apollo Gateway's `gateway.request`, merged into the
 * request's SERVER span (./tracing.ts): the operation's name and type, and its error status, are then on
 * the trace's gateway span itself, one span fewer per sampled request.
 */
import { context, INVALID_SPAN_CONTEXT, isSpanContextValid, trace, TraceFlags, type Attributes, type AttributeValue, type Context, type Exception, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type TimeInput, type Tracer } from '@opentelemetry/api';
import { recordChild, type SpanScope } from './recorded-span.ts';

const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
const never = () => false;

export class SampledChildrenTracer implements Tracer {
  readonly #inner: Tracer;
  readonly #fold: ReadonlySet<string> | undefined;
  readonly #merge: ReadonlySet<string> | undefined;
  readonly #idle: () => boolean;
  readonly #scope: SpanScope | undefined;

  /**
   * `inner` makes the spans nothing here decides: roots, and children of a remote sampled parent. With a
   * `scope`, a child of a recorded span is a RecordedSpan of that scope (./recorded-span.ts); without, the
   * inner tracer's.
   */
  constructor(inner: Tracer, options: { fold?: ReadonlySet<string>; merge?: ReadonlySet<string>; idle?: () => boolean; scope?: SpanScope } = {}) {
    this.#inner = inner;
    this.#fold = options.fold;
    this.#merge = options.merge;
    this.#idle = options.idle ?? never;
    this.#scope = options.scope;
  }

  startSpan(name: string, options: SpanOptions = {}, parentContext?: Context): Span {
    if (!options.root && this.#idle()) return NO_SPAN;
    const parent = parentContext ?? context.active();
    return this.#standIn(name, parent, options) ?? this.#record(name, parent, options) ?? this.#inner.startSpan(name, options, parent);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, parentContext: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, arg2: F | SpanOptions, arg3?: F | Context, arg4?: F): ReturnType<F> {
    const fn = (arg4 ?? arg3 ?? arg2) as F;
    const options = typeof arg2 === 'function' ? {} : arg2;
    if (!options.root && this.#idle()) return fn(NO_SPAN) as ReturnType<F>;
    const active = context.active();
    const parentContext = arg4 === undefined ? active : (arg3 as Context);
    const span = this.#standIn(name, parentContext, options);
    if (span) return (parentContext === active ? fn(span) : context.with(parentContext, fn as (span: Span) => unknown, undefined, span)) as ReturnType<F>;
    const recorded = this.#record(name, parentContext, options);
    if (!recorded) return this.#inner.startActiveSpan(name, options, parentContext, fn);
    return context.with(trace.setSpan(parentContext, recorded), fn as (span: Span) => unknown, undefined, recorded) as ReturnType<F>;
  }

  #standIn(name: string, parentContext: Context, options: SpanOptions): Span | undefined {
    const span = standIn(parentContext, options);
    if (span || options.root) return span;
    if (this.#merge?.has(name)) {
      // Merged into its recorded parent (a remote sampled parent, which records nothing here, is left to the SDK).
      const parent = trace.getSpan(parentContext);
      return parent?.isRecording() ? new MergedSpan(parent, options) : undefined;
    }
    if (!this.#fold?.has(name)) return undefined;
    // Folded into its sampled parent: a stand-in that carries the parent's context and records nothing.
    const parent = trace.getSpan(parentContext);
    return parent && trace.wrapSpanContext(parent.spanContext());
  }

  /** A child of a recorded span (standIn has ruled out the rest but roots and remote parents). */
  #record(name: string, parentContext: Context, options: SpanOptions): Span | undefined {
    if (!this.#scope || options.root) return undefined;
    const parent = trace.getSpan(parentContext);
    return parent?.isRecording() ? recordChild(this.#scope, parent.spanContext(), name, options) : undefined;
  }
}

/** What stands for a span that would not be recorded (the unsampled parent, or no span), else undefined. */
function standIn(parentContext: Context, options: SpanOptions): Span | undefined {
  if (options.root) return undefined;
  const parent = trace.getSpan(parentContext);
  if (parent === undefined) return NO_SPAN;
  if (parent.isRecording()) return undefined;
  const spanContext = parent.spanContext();
  // A remote parent (the client's, or the gateway's as a subgraph sees it) is non-recording but may be sampled.
  if ((spanContext.traceFlags & TraceFlags.SAMPLED) !== 0 && isSpanContextValid(spanContext)) return undefined;
  return parent;
}

/**
 * A span merged into its recorded parent: what the caller records goes on the parent, whose end is its
 * owner's (`end()` and `updateName` here change nothing). Its span context, and so the context its children
 * and subgraphs see, is the parent's.
 */
class MergedSpan implements Span {
  readonly #parent: Span;

  constructor(parent: Span, options: SpanOptions) {
    this.#parent = parent;
    if (options.attributes) parent.setAttributes(options.attributes);
    if (options.links) parent.addLinks(options.links);
  }

  spanContext(): SpanContext {
    return this.#parent.spanContext();
  }

  isRecording(): boolean {
    return this.#parent.isRecording();
  }

  setAttribute(key: string, value: AttributeValue): this {
    this.#parent.setAttribute(key, value);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    this.#parent.setAttributes(attributes);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    this.#parent.addEvent(name, attributesOrTime, time);
    return this;
  }

  addLink(link: Link): this {
    this.#parent.addLink(link);
    return this;
  }

  addLinks(links: Link[]): this {
    this.#parent.addLinks(links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.#parent.setStatus(status);
    return this;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.#parent.recordException(exception, time);
  }

  updateName(): this {
    return this;
  }

  end(): void {}
}
