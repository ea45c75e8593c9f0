/**
 * gateway/observability/recorded-span.ts against the SDK's own span: the same calls, made on a RecordedSpan
 * and on a span of a real SDK provider with the same ids, times, resource and scope, leave the same span,
 * field by field and as the OTLP bytes the gateway exports (limits, invalid attributes, status precedence,
 * exception events, links, calls after `end()`). Times not given come from the wall clock at the start and
 * the monotonic clock after; a RecordedSpan goes to its processor once, when it ends.
 */
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Span, type SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { describe, expect, it } from 'vitest';
import { encodeTraceExportRequest } from '../../../gateway/observability/otlp-protobuf.ts';
import { RecordedSpan, recordChild, SPAN_LIMITS, type SpanScope } from '../../../gateway/observability/recorded-span.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const PARENT: SpanContext = { traceId: TRACE, spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: createTraceState('vendor=abc') };
const START = 1_764_547_200_123.5; // epoch ms
const resource = resourceFromAttributes({ 'service.name': 'frontdesk-gateway' });
const fixedIds: IdGenerator = { generateTraceId: () => TRACE, generateSpanId: () => SPAN };

/** A span of a real SDK provider, child of the remote PARENT, with the ids and limits RecordedSpan is given. */
function sdkSpan(name: string, kind: SpanKind): { span: Span; finished: () => ReadableSpan } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, idGenerator: fixedIds, spanLimits: SPAN_LIMITS, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const span = provider.getTracer('frontdesk-gateway', '0.1.0').startSpan(name, { kind, startTime: START, attributes: { first: 1 } }, trace.setSpanContext(ROOT_CONTEXT, PARENT));
  return { span, finished: () => exporter.getFinishedSpans()[0] as ReadableSpan };
}

function recordedSpan(name: string, kind: SpanKind): { span: RecordedSpan; ended: ReadableSpan[] } {
  const ended: ReadableSpan[] = [];
  const scope: SpanScope = {
    resource,
    instrumentationScope: { name: 'frontdesk-gateway', version: '0.1.0' },
    processor: { onStart: () => {}, onEnd: (span) => ended.push(span), forceFlush: async () => {}, shutdown: async () => {} },
    ids: fixedIds,
  };
  const spanContext: SpanContext = { traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED, traceState: PARENT.traceState as NonNullable<SpanContext['traceState']> };
  return { span: new RecordedSpan(scope, spanContext, name, kind, PARENT, { startTime: START, attributes: { first: 1 } }), ended };
}

/** One error for both spans: its stack is part of the exception event. */
const upstreamDown = Object.assign(new Error('upstream down'), { code: 'ECONNREFUSED' });

/** Every call a caller can make, with what the SDK makes of edge cases. */
function exercise(span: Span): void {
  span.setAttribute('http.request.method', 'POST');
  span.setAttribute('', 'empty key');
  span.setAttribute('nothing', undefined as never);
  span.setAttribute('object', { not: 'an attribute value' } as never);
  span.setAttributes({ 'server.port': 4000, ok: true, list: ['a', 'b'], mixed: ['a', 1] as never });
  for (let i = 0; i < SPAN_LIMITS.attributeCountLimit + 3; i++) span.setAttribute(`a${i}`, i);
  span.setAttribute('first', 'overwritten, not counted twice');
  span.addEvent('plain', START + 1);
  span.addEvent('with attributes', { 'jwks.keys': 3, bad: { x: 1 } as never }, START + 2);
  span.recordException(upstreamDown, START + 3);
  span.recordException('a message only', START + 4);
  span.addLink({ context: { traceId: TRACE, spanId: '1111111111111111', traceFlags: TraceFlags.SAMPLED }, attributes: { why: 'auth' } });
  span.addLinks([{ context: { traceId: TRACE, spanId: '2222222222222222', traceFlags: TraceFlags.NONE } }]);
  span.setStatus({ code: SpanStatusCode.UNSET });
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'first' });
  span.setStatus({ code: SpanStatusCode.OK, message: 'dropped: only ERROR keeps a message' });
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'ignored: OK is final' });
  span.updateName('renamed');
  span.end(START + 10);
  span.end(START + 20);
  span.setAttribute('after end', 1);
  span.addEvent('after end');
  span.updateName('after end');
}

const fields = (span: ReadableSpan) => ({
  name: span.name,
  kind: span.kind,
  spanContext: span.spanContext(),
  parentSpanContext: span.parentSpanContext,
  startTime: span.startTime,
  endTime: span.endTime,
  duration: span.duration,
  ended: span.ended,
  status: span.status,
  attributes: span.attributes,
  events: span.events,
  links: span.links,
  droppedAttributesCount: span.droppedAttributesCount,
  droppedEventsCount: span.droppedEventsCount,
  droppedLinksCount: span.droppedLinksCount,
  resource: span.resource.attributes,
  instrumentationScope: { name: span.instrumentationScope.name, version: span.instrumentationScope.version },
});

describe('a RecordedSpan', () => {
  it('ends as the SDK span does for the same calls, field by field and in the exported bytes', () => {
    const sdk = sdkSpan('POST /graphql', SpanKind.SERVER);
    const ours = recordedSpan('POST /graphql', SpanKind.SERVER);
    exercise(sdk.span);
    exercise(ours.span);
    const expected = sdk.finished();
    expect(ours.ended).toHaveLength(1);
    expect(fields(ours.span)).toEqual(fields(expected));
    // 5 attributes before the loop (one from the options), then 131: 8 past the limit of 128.
    expect(ours.span.droppedAttributesCount).toBe(8);
    expect(ours.span.status).toEqual({ code: SpanStatusCode.OK });
    expect(Buffer.from(encodeTraceExportRequest([ours.span])).equals(Buffer.from(encodeTraceExportRequest([expected])))).toBe(true);
  });

  it("keeps the same limits as the SDK's spans whatever the SDK's OTEL_*_LIMIT variables say", () => {
    const saved = { ...process.env };
    Object.assign(process.env, { OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '8', OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '2', OTEL_SPAN_EVENT_COUNT_LIMIT: '1' });
    try {
      const sdk = sdkSpan('limits', SpanKind.INTERNAL);
      const ours = recordedSpan('limits', SpanKind.INTERNAL);
      for (const span of [sdk.span, ours.span]) {
        span.setAttributes({ long: 'x'.repeat(1_000), b: 2, c: 3 });
        span.addEvent('one', START + 1);
        span.addEvent('two', START + 2);
        span.end(START + 3);
      }
      expect(fields(ours.span)).toEqual(fields(sdk.finished()));
      expect([ours.span.attributes.long, ours.span.events.length]).toEqual(['x'.repeat(1_000), 2]);
    } finally {
      process.env = saved;
    }
  });

  it('keeps the last events and links past the limits, counting the dropped ones', () => {
    const sdk = sdkSpan('busy', SpanKind.INTERNAL);
    const ours = recordedSpan('busy', SpanKind.INTERNAL);
    for (const span of [sdk.span, ours.span]) {
      for (let i = 0; i < SPAN_LIMITS.eventCountLimit + 2; i++) span.addEvent(`e${i}`, START + i);
      for (let i = 0; i < SPAN_LIMITS.linkCountLimit + 1; i++) span.addLink({ context: { traceId: TRACE, spanId: (i + 1).toString(16).padStart(16, '0'), traceFlags: TraceFlags.SAMPLED } });
      span.end(START + 500);
    }
    expect(fields(ours.span)).toEqual(fields(sdk.finished()));
    expect(ours.span.events[0]?.name).toBe('e2');
    expect([ours.span.droppedEventsCount, ours.span.droppedLinksCount]).toEqual([2, 1]);
  });

  it('takes its start from the wall clock and what follows from the monotonic clock', async () => {
    const ended: ReadableSpan[] = [];
    const scope: SpanScope = { resource, instrumentationScope: { name: 't' }, processor: { onStart: () => {}, onEnd: (span) => ended.push(span), forceFlush: async () => {}, shutdown: async () => {} }, ids: fixedIds };
    const before = Date.now();
    const parent = new RecordedSpan(scope, { traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED }, 'parent', SpanKind.SERVER, undefined, {});
    const child = recordChild(scope, parent.spanContext(), 'child', { kind: SpanKind.CLIENT, attributes: { 'server.port': 4002 } });
    await new Promise((resolve) => setTimeout(resolve, 30));
    child.addEvent('halfway');
    child.end();
    parent.end();
    const ms = ([seconds, nanos]: readonly [number, number]) => seconds * 1e3 + nanos / 1e6;
    expect(ms(parent.startTime)).toBeGreaterThanOrEqual(before);
    expect(ms(parent.startTime)).toBeLessThanOrEqual(before + 20);
    expect(ms(parent.duration)).toBeGreaterThanOrEqual(29);
    expect(ms(parent.duration)).toBeLessThan(1_000);
    expect(ms(child.events[0]?.time as [number, number])).toBeGreaterThanOrEqual(ms(child.startTime) + 29);
    expect(child.parentSpanContext).toBe(parent.spanContext());
    expect(child.spanContext()).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED });
    expect([child.kind, child.attributes]).toEqual([SpanKind.CLIENT, { 'server.port': 4002 }]);
    expect(child.isRecording()).toBe(false);
    expect(ended).toEqual([child, parent]);
  });
});
