/**
 * gateway/observability/unsampled-spans.ts against the real SDK: under an unsampled parent, or with no
 * parent at all, no span is made and the context is left alone, yet an unsampled trace context still
 * propagates; children of a sampled parent and explicit roots are the SDK's ordinary behaviour (the
 * parent-based sampler, here with every new root sampled), except that with a scope a recorded span's
 * children are frontdesk's RecordedSpans.
 */
import { context, INVALID_SPAN_CONTEXT, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, InMemorySpanExporter, NodeTracerProvider, ParentBasedSampler, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { RecordedSpan, type SpanScope } from '../../../gateway/observability/recorded-span.ts';
import { RequestIds } from '../../../gateway/observability/trace-ids.ts';
import { SampledChildrenTracer } from '../../../gateway/observability/unsampled-spans.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
const tracer = new SampledChildrenTracer(provider.getTracer('test'));

const remoteParent = (traceFlags: TraceFlags): Context => trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: PARENT, traceFlags, isRemote: true });
const traceparent = () => {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers.traceparent;
};

beforeEach(() => exporter.reset());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('spans under an unsampled parent', () => {
  it('are the parent itself, in the same context, and nothing is recorded', async () => {
    const parentContext = remoteParent(TraceFlags.NONE);
    const parent = trace.getSpan(parentContext);
    const seen = await context.with(parentContext, () =>
      tracer.startActiveSpan('child', { attributes: { a: 1 } }, async (child: Span) => {
        await Promise.resolve();
        const grandchild = tracer.startSpan('grandchild');
        const activeGrandchild = tracer.startActiveSpan('active grandchild', (span) => span);
        child.setAttribute('b', 2);
        child.end();
        grandchild.end();
        return { child, grandchild, activeGrandchild, active: context.active(), traceparent: traceparent() };
      }),
    );
    expect(seen.child).toBe(parent);
    expect(seen.grandchild).toBe(parent);
    expect(seen.activeGrandchild).toBe(parent);
    expect(seen.active).toBe(parentContext);
    // The subgraph still learns the trace and that it is not sampled.
    expect(seen.traceparent).toBe(`00-${TRACE}-${PARENT}-00`);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('run in the context they are given when it is not the active one', () => {
    const parentContext = remoteParent(TraceFlags.NONE);
    const active = tracer.startActiveSpan('child', {}, parentContext, () => context.active());
    expect(active).toBe(parentContext);
    expect(context.active()).toBe(ROOT_CONTEXT);
  });
});

describe('every other span goes to the SDK', () => {
  it('a child of a sampled parent is recorded under it, and its own children under it', () => {
    context.with(remoteParent(TraceFlags.SAMPLED), () =>
      tracer.startActiveSpan('child', (child) => {
        expect(traceparent()).toBe(`00-${TRACE}-${child.spanContext().spanId}-01`);
        tracer.startSpan('grandchild').end();
        child.end();
      }),
    );
    const [grandchild, child] = exporter.getFinishedSpans();
    expect(child).toMatchObject({ name: 'child', parentSpanContext: { spanId: PARENT } });
    expect(child?.spanContext().traceId).toBe(TRACE);
    expect(grandchild).toMatchObject({ name: 'grandchild', parentSpanContext: { spanId: child?.spanContext().spanId } });
  });

  it('an explicit root (root: true) is sampled by the root sampler, whatever the active context', () => {
    tracer.startSpan('root', { root: true }, remoteParent(TraceFlags.NONE)).end();
    tracer.startActiveSpan('active root', { root: true }, remoteParent(TraceFlags.SAMPLED), (span) => span.end());
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['root', 'active root']);
    for (const span of spans) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).not.toBe(TRACE);
    }
  });
});

describe('with a scope: the children of a recorded span are recorded by frontdesk (recorded-span.ts)', () => {
  const scope: SpanScope = { resource: resourceFromAttributes({ 'service.name': 'test' }), instrumentationScope: { name: 'recording' }, processor: new SimpleSpanProcessor(exporter), ids: new RequestIds() };
  const recording = new SampledChildrenTracer(provider.getTracer('recording'), { scope });

  it('a child of a recorded span is a RecordedSpan under it, active for its callback and exported when it ends', () => {
    const root = tracer.startSpan('request', { root: true });
    const seen = context.with(trace.setSpan(ROOT_CONTEXT, root), () =>
      recording.startActiveSpan('child', { kind: SpanKind.CLIENT, attributes: { 'server.port': 4002 } }, (child) => {
        const grandchild = recording.startSpan('grandchild');
        grandchild.end();
        child.end();
        return { child, grandchild, sent: traceparent() };
      }),
    );
    root.end();
    expect(seen.child).toBeInstanceOf(RecordedSpan);
    expect(seen.grandchild).toBeInstanceOf(RecordedSpan);
    expect(seen.sent).toBe(`00-${root.spanContext().traceId}-${seen.child.spanContext().spanId}-01`);
    const [grandchild, child] = exporter.getFinishedSpans();
    expect(child).toMatchObject({ name: 'child', kind: SpanKind.CLIENT, attributes: { 'server.port': 4002 }, parentSpanContext: root.spanContext(), instrumentationScope: { name: 'recording' } });
    expect(child?.spanContext()).toMatchObject({ traceId: root.spanContext().traceId, traceFlags: TraceFlags.SAMPLED });
    expect(grandchild?.parentSpanContext).toBe(child?.spanContext());
  });

  it("a child of a remote sampled parent, and a root, are still the SDK's", () => {
    const remote = recording.startSpan('under the client', {}, remoteParent(TraceFlags.SAMPLED));
    const root = recording.startSpan('root', { root: true });
    for (const span of [remote, root]) {
      expect(span).not.toBeInstanceOf(RecordedSpan);
      expect(span.isRecording()).toBe(true);
      span.end();
    }
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['under the client', 'root']);
  });
});

describe('with no parent to join', () => {
  it('no span is made (no parent, or an invalid one): a request runs in no context unless it is sampled', () => {
    const spans = [
      tracer.startSpan('no parent', {}, ROOT_CONTEXT),
      tracer.startActiveSpan('no active parent', (span) => span),
      tracer.startActiveSpan('invalid parent', {}, trace.setSpanContext(ROOT_CONTEXT, INVALID_SPAN_CONTEXT), (span) => span),
    ];
    for (const span of spans) {
      span.end();
      expect(span.isRecording()).toBe(false);
      expect(isSpanContextValid(span.spanContext())).toBe(false);
    }
    // Nothing of theirs reaches a subgraph: there is no trace to continue.
    expect(tracer.startActiveSpan('no parent', () => traceparent())).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('span names folded into their parent (Apollo Gateway validate and postprocessing)', () => {
  const folding = new SampledChildrenTracer(provider.getTracer('folding'), { fold: new Set(['gateway.validate']) });

  it('make no span even under a sampled parent: the work stays in the parent, which the caller cannot end', () => {
    tracer.startActiveSpan('gateway.request', { root: true }, (request) => {
      const seen = folding.startActiveSpan('gateway.validate', (validate) => {
        validate.setAttribute('ignored', true);
        validate.end();
        return { validate, active: trace.getActiveSpan(), sent: traceparent() };
      });
      expect(seen.validate.isRecording()).toBe(false);
      expect(seen.validate.spanContext()).toEqual(request.spanContext());
      expect(seen.active).toBe(request);
      expect(seen.sent).toBe(`00-${request.spanContext().traceId}-${request.spanContext().spanId}-01`);
      expect(request.isRecording()).toBe(true);
      expect(folding.startSpan('gateway.validate').isRecording()).toBe(false);
      // A name not folded is an ordinary child.
      folding.startSpan('gateway.plan').end();
      request.end();
    });
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['gateway.plan', 'gateway.request']);
    expect(spans[1]?.attributes).toEqual({});
    expect(spans[0]?.parentSpanContext?.spanId).toBe(spans[1]?.spanContext().spanId);
  });

  it('with no parent, or asked to be a root, are treated as any other span', () => {
    expect(folding.startSpan('gateway.validate', {}, ROOT_CONTEXT).isRecording()).toBe(false);
    folding.startSpan('gateway.validate', { root: true }, ROOT_CONTEXT).end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['gateway.validate']);
  });
});

describe('span names merged into their recorded parent (Apollo Gateway request, into the SERVER span)', () => {
  const merging = new SampledChildrenTracer(provider.getTracer('merging'), { merge: new Set(['gateway.request']) });

  it('record on the parent, in its context; the parent ends when its owner ends it, with what the caller recorded', async () => {
    const server = tracer.startSpan('POST /graphql', { root: true, kind: SpanKind.SERVER, attributes: { 'http.route': 'graphql' } });
    const seen = await context.with(trace.setSpan(ROOT_CONTEXT, server), () =>
      merging.startActiveSpan('gateway.request', { attributes: { 'graphql.operation.name': 'Top' } }, async (request: Span) => {
        await Promise.resolve();
        request.setAttributes({ 'graphql.operation.type': 'query' });
        request.recordException(new Error('Cannot query field "nope" on type "Query".'));
        request.setStatus({ code: SpanStatusCode.ERROR, message: 'validation' });
        merging.startSpan('gateway.plan').end();
        request.updateName('renamed');
        request.end();
        return { request, active: trace.getActiveSpan(), sent: traceparent(), recordingAfterEnd: request.isRecording() };
      }),
    );
    expect(seen.active).toBe(server);
    expect(seen.request.spanContext()).toEqual(server.spanContext());
    expect(seen.sent).toBe(`00-${server.spanContext().traceId}-${server.spanContext().spanId}-01`);
    // The caller's end() is not the parent's.
    expect(seen.recordingAfterEnd).toBe(true);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['gateway.plan']);
    server.end();
    const [plan, ended] = exporter.getFinishedSpans();
    expect(plan?.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(ended?.name).toBe('POST /graphql');
    expect(ended?.attributes).toEqual({ 'http.route': 'graphql', 'graphql.operation.name': 'Top', 'graphql.operation.type': 'query' });
    expect(ended?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'validation' });
    expect(ended?.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([['exception', 'Cannot query field "nope" on type "Query".']]);
    // After the parent ended, the merged span records nothing more.
    expect(seen.request.isRecording()).toBe(false);
  });

  it('under an unsampled parent, with no parent, or under a remote sampled one, are what any other span is there', () => {
    const unsampled = remoteParent(TraceFlags.NONE);
    expect(merging.startSpan('gateway.request', {}, unsampled)).toBe(trace.getSpan(unsampled));
    expect(merging.startSpan('gateway.request', {}, ROOT_CONTEXT).isRecording()).toBe(false);
    const child = merging.startSpan('gateway.request', {}, remoteParent(TraceFlags.SAMPLED));
    expect(child.isRecording()).toBe(true);
    child.end();
    expect(exporter.getFinishedSpans().map((s) => [s.name, s.parentSpanContext?.spanId])).toEqual([['gateway.request', PARENT]]);
  });
});

describe('while no sampled request is in flight (idle)', () => {
  it('even a sampled parent gets the stand-in, without reading the context; roots still go to the SDK', () => {
    let idle = true;
    const gated = new SampledChildrenTracer(provider.getTracer('test'), { idle: () => idle });
    const sampled = remoteParent(TraceFlags.SAMPLED);
    const seen = context.with(sampled, () => gated.startActiveSpan('late child', (span: Span) => {
      span.end();
      return { span, active: context.active() };
    }));
    expect(seen.span.isRecording()).toBe(false);
    expect(isSpanContextValid(seen.span.spanContext())).toBe(false);
    expect(seen.active).toBe(sampled);
    gated.startSpan('late', {}, sampled).end();
    gated.startSpan('root', { root: true }).end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['root']);
    idle = false;
    gated.startSpan('child', {}, sampled).end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['root', 'child']);
  });
});
