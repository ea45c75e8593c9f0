/**
 * The spans of a sampled request: its SERVER span (./tracing.ts `startRequest`) and every span started
 * under it, frontdesk's and Apollo Gateway's (./unsampled-spans.ts). Each is a `RecordedSpan`, which is
 * both the API's `Span` and the SDK's `ReadableSpan`, so any span processor takes it; when it ends it goes
 * to the gateway's span processor (the SDK's batch processor and exporter, ./tracing.ts).
 *
 * Why not the SDK's own span: its tracer checks the parent's ids with regular expressions, asks the
 * sampler, copies the attributes through `sanitizeAttributes`, and its span converts every time through
 * three branches; the parent here is a recorded span of this gateway whose ids were made or checked when
 * the request arrived, and the sampling decision was taken then too (docs/performance.md "Observability",
 * tenth pass: at a 0.1 ratio each of those calls costs several times what it costs when every request is
 * sampled, because the code is cold). What a span does for its caller is the SDK's `SpanImpl`'s, rule for
 * rule: the span limits below (the SDK's defaults, also given to the SDK's provider), attribute checks,
 * status precedence (OK is final, UNSET is ignored, a message only with ERROR), `recordException`'s event,
 * one `end()`, nothing recorded after it, and times as the SDK takes them (the wall clock at the start,
 * the monotonic clock for what follows).
 */
import { diag, SpanKind, SpanStatusCode, TraceFlags, type Attributes, type AttributeValue, type Exception, type HrTime, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type TimeInput } from '@opentelemetry/api';
import { hrTimeDuration, isAttributeValue, isTimeInput, isTimeInputHrTime, millisToHrTime, sanitizeAttributes } from '@opentelemetry/core';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-node';

/**
 * The SDK's default span limits (no value length limit). ./tracing.ts gives the SDK's provider the same, all
 * of them, so that the SDK's `OTEL_*_LIMIT` environment variables cannot make its spans differ from these:
 * frontdesk's tracing is configured by its config file alone (docs/production.md "Traces").
 */
export const SPAN_LIMITS = { attributeCountLimit: 128, attributeValueLengthLimit: Infinity, linkCountLimit: 128, eventCountLimit: 128, attributePerEventCountLimit: 128, attributePerLinkCountLimit: 128 } as const;

/** What all spans of one tracer share. */
export interface SpanScope {
  readonly resource: ReadableSpan['resource'];
  readonly instrumentationScope: ReadableSpan['instrumentationScope'];
  readonly processor: SpanProcessor;
  readonly ids: { generateSpanId(): string };
}

/** A span under a recorded parent of this gateway: sampled, as the parent-based sampler decides for it. */
export function recordChild(scope: SpanScope, parent: SpanContext, name: string, options: SpanOptions): RecordedSpan {
  const spanContext: SpanContext = { traceId: parent.traceId, spanId: scope.ids.generateSpanId(), traceFlags: TraceFlags.SAMPLED };
  if (parent.traceState) spanContext.traceState = parent.traceState;
  return new RecordedSpan(scope, spanContext, name, options.kind ?? SpanKind.INTERNAL, parent, options);
}

export class RecordedSpan implements Span, ReadableSpan {
  name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  readonly attributes: Attributes = {};
  readonly links: Link[] = [];
  readonly events: TimedEvent[] = [];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  readonly startTime: HrTime;
  endTime: HrTime = [0, 0];
  droppedAttributesCount = 0;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  readonly #context: SpanContext;
  readonly #scope: SpanScope;
  /** The monotonic clock at the start, when the start time was not given: later times are measured from it. */
  readonly #startedAt: number | undefined;
  #attributeCount = 0;
  #ended = false;

  constructor(scope: SpanScope, spanContext: SpanContext, name: string, kind: SpanKind, parent: SpanContext | undefined, options: { attributes?: Attributes | undefined; links?: Link[] | undefined; startTime?: TimeInput | undefined }) {
    this.#scope = scope;
    this.#context = spanContext;
    this.name = name;
    this.kind = kind;
    this.parentSpanContext = parent;
    if (options.startTime === undefined) {
      this.#startedAt = performance.now();
      this.startTime = millisToHrTime(Date.now());
    } else {
      this.#startedAt = undefined;
      this.startTime = toHrTime(options.startTime);
    }
    if (options.links) for (const link of options.links) this.addLink(link);
    if (options.attributes) this.setAttributes(options.attributes);
  }

  get resource(): ReadableSpan['resource'] {
    return this.#scope.resource;
  }

  get instrumentationScope(): ReadableSpan['instrumentationScope'] {
    return this.#scope.instrumentationScope;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get duration(): HrTime {
    return this.#ended ? hrTimeDuration(this.startTime, this.endTime) : [-1, -1];
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  isRecording(): boolean {
    return !this.#ended;
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (value == null || this.#ended) return this;
    if (key.length === 0 || !isAttributeValue(value)) {
      diag.warn(`Invalid attribute ${key.length === 0 ? 'key' : `value set for key: ${key}`}`);
      return this;
    }
    if (!Object.hasOwn(this.attributes, key)) {
      if (this.#attributeCount >= SPAN_LIMITS.attributeCountLimit) {
        this.droppedAttributesCount++;
        return this;
      }
      this.#attributeCount++;
    }
    this.attributes[key] = value;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) if (Object.hasOwn(attributes, key)) this.setAttribute(key, attributes[key]);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.#ended) return this;
    if (isTimeInput(attributesOrTime)) {
      time ??= attributesOrTime;
      attributesOrTime = undefined;
    }
    if (this.events.length >= SPAN_LIMITS.eventCountLimit) {
      this.events.shift();
      this.droppedEventsCount++;
    }
    const { attributes, dropped } = bounded(attributesOrTime, SPAN_LIMITS.attributePerEventCountLimit);
    this.events.push({ name, attributes, time: this.#time(time), droppedAttributesCount: dropped });
    return this;
  }

  addLink(link: Link): this {
    if (this.#ended) return this;
    if (this.links.length >= SPAN_LIMITS.linkCountLimit) {
      this.links.shift();
      this.droppedLinksCount++;
    }
    const { attributes, dropped, count } = bounded(link.attributes, SPAN_LIMITS.attributePerLinkCountLimit);
    this.links.push({ context: link.context, ...(count > 0 ? { attributes } : {}), ...(dropped > 0 ? { droppedAttributesCount: dropped } : {}) });
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.#ended || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    this.status = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? { code: status.code, message: status.message } : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.#ended) this.name = name;
    return this;
  }

  /** The SDK's exception event (OpenTelemetry semantic conventions: exception.type, .message, .stacktrace). */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') attributes['exception.message'] = exception;
    else if (exception) {
      const type = exception.code ? String(exception.code) : exception.name;
      if (type) attributes['exception.type'] = type;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] || attributes['exception.message']) this.addEvent('exception', attributes, time);
    else diag.warn(`Failed to record an exception ${String(exception)}`);
  }

  end(endTime?: TimeInput): void {
    if (this.#ended) {
      diag.error(`${this.name} ${this.#context.traceId}-${this.#context.spanId} - You can only call end() on a span once.`);
      return;
    }
    const end = this.#time(endTime);
    // A given end before the start: the SDK's rule, a duration of zero.
    this.endTime = end[0] < this.startTime[0] || (end[0] === this.startTime[0] && end[1] < this.startTime[1]) ? this.startTime : end;
    this.#ended = true;
    this.#scope.processor.onEnd(this);
  }

  /** A time inside the span: given, or the start plus the monotonic clock's time since. */
  #time(time: TimeInput | undefined): HrTime {
    if (time !== undefined) return toHrTime(time);
    if (this.#startedAt === undefined) return millisToHrTime(Date.now());
    const [seconds, nanos] = this.startTime;
    const total = nanos + Math.round((performance.now() - this.#startedAt) * 1e6);
    return [seconds + Math.floor(total / 1e9), total % 1e9];
  }
}

/**
 * A given time as the SDK reads it: a number no later than the monotonic clock is a `performance.now()`
 * reading (placed on the wall clock by the offset between the two now), any other number epoch
 * milliseconds, a Date, or an HrTime.
 */
function toHrTime(time: TimeInput): HrTime {
  if (isTimeInputHrTime(time)) return time;
  if (time instanceof Date) return millisToHrTime(time.getTime());
  const now = performance.now();
  return millisToHrTime(time <= now ? time + (Date.now() - now) : time);
}

/** Sanitised attributes, at most `limit` of them. */
function bounded(input: unknown, limit: number): { attributes: Attributes; dropped: number; count: number } {
  const sanitized = sanitizeAttributes(input);
  const attributes: Attributes = {};
  let count = 0;
  let dropped = 0;
  for (const key in sanitized) {
    if (!Object.hasOwn(sanitized, key)) continue;
    if (count >= limit) dropped++;
    else {
      attributes[key] = sanitized[key];
      count++;
    }
  }
  return { attributes, dropped, count };
}
