/**
 * gateway/observability/otlp-protobuf.ts writes what the SDK's own OTLP/protobuf serializer writes, byte for
 * byte, for real SDK spans of every shape the gateway and Apollo Gateway make and for the value types a
 * span can hold; and what it writes decodes (test/support/otlp.ts, an independent decoder) to the spans.
 */
import { context, createTraceState, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { describe, expect, it } from 'vitest';
import { encodeTraceExportRequest } from '../../../gateway/observability/otlp-protobuf.ts';
import { decodeTraceExport } from '../../support/otlp.ts';

/** Spans from a real SDK provider: two scopes, each kind, nested, remote parent, events, links, status. */
function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'frontdesk-gateway', 'service.version': '0.1.0', 'host.cores': 2 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const gateway = provider.getTracer('frontdesk-gateway', '0.1.0');
  const apollo = provider.getTracer('apollo/gateway-js');
  const remote = trace.setSpanContext(context.active(), {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState('vendor=abc,other=1'),
  });
  const request = gateway.startSpan('POST /graphql', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'url.path': '/graphql' } }, remote);
  const inRequest = trace.setSpan(remote, request);
  const auth = gateway.startSpan('authenticate', { attributes: { 'frontdesk.auth.method': 'jwt', 'frontdesk.auth.result': 'accepted' } }, inRequest);
  auth.addEvent('key set fetched', { 'jwks.keys': 3, cached: false });
  auth.end();
  const plan = apollo.startSpan('gateway.plan', {}, inRequest);
  plan.setStatus({ code: SpanStatusCode.ERROR, message: 'plan failed: ünïcödé ✓ 😀' });
  plan.end();
  const fetch = apollo.startSpan('gateway.fetch', { kind: SpanKind.INTERNAL, links: [{ context: auth.spanContext(), attributes: { why: 'auth' } }] }, inRequest);
  const client = gateway.startSpan('subgraph products', { kind: SpanKind.CLIENT }, trace.setSpan(inRequest, fetch));
  const values: Attributes = {
    string: 'x',
    empty: '',
    unicode: 'é✓😀',
    medium: 'm'.repeat(60),
    accented: 'é'.repeat(50),
    long: 'a'.repeat(200),
    huge: 'b'.repeat(20_000),
    true: true,
    false: false,
    zero: 0,
    int: 42,
    negative: -7,
    big: 2 ** 40 + 3,
    double: 3.25,
    nan: Number.NaN,
    strings: ['a', 'é', ''],
    numbers: [1, 2.5, -3],
    booleans: [true, false],
    withNull: ['a', null, 'b'],
  };
  client.setAttributes(values);
  client.setStatus({ code: SpanStatusCode.OK });
  client.end();
  fetch.end();
  gateway.startSpan('producer', { kind: SpanKind.PRODUCER }).end();
  gateway.startSpan('consumer', { kind: SpanKind.CONSUMER, root: true }).end();
  request.setAttribute('http.response.status_code', 200);
  request.end();
  return exporter.getFinishedSpans();
}

const sdkBytes = (spans: ReadableSpan[]) => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);

describe('encodeTraceExportRequest', () => {
  it('writes the SDK serializer’s bytes for real spans of every kind, scope and shape', () => {
    const spans = sdkSpans();
    expect(spans).toHaveLength(7);
    const ours = Buffer.from(encodeTraceExportRequest(spans));
    expect(ours.equals(sdkBytes(spans))).toBe(true);
  });

  it('writes the same bytes for a batch of 600 spans that outgrows its first buffer, and for none', () => {
    const spans = Array.from({ length: 100 }, sdkSpans).flat().slice(0, 600);
    expect(Buffer.from(encodeTraceExportRequest(spans)).equals(sdkBytes(spans))).toBe(true);
    expect(Buffer.from(encodeTraceExportRequest([])).equals(sdkBytes([]))).toBe(true);
  });

  it('writes the same bytes for what the SDK never makes: kvlist, bytes and null values, ids that are not hex', () => {
    const [span] = sdkSpans().filter((s) => s.name === 'authenticate');
    const odd = Object.create(span as object, {
      attributes: { value: { nested: { a: 1, b: ['x', { c: true }] }, bytes: new Uint8Array([0, 255, 16]), nothing: null, undef: undefined } },
      spanContext: { value: () => ({ traceId: 'zz'.repeat(16), spanId: 'A1B2C3D4E5F6a7b8', traceFlags: 1 }) },
    }) as ReadableSpan;
    expect(Buffer.from(encodeTraceExportRequest([odd])).equals(sdkBytes([odd]))).toBe(true);
  });

  it('decodes, with an independent decoder, to the spans it was given', () => {
    const spans = sdkSpans();
    const decoded = decodeTraceExport(Buffer.from(encodeTraceExportRequest(spans)), 'application/x-protobuf');
    const all = decoded.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect(all.map((s) => s.name).sort()).toEqual(spans.map((s) => s.name).sort());
    const client = all.find((s) => s.name === 'subgraph products');
    const fetch = spans.find((s) => s.name === 'gateway.fetch') as ReadableSpan;
    expect(client?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(client?.parentSpanId).toBe(fetch.spanContext().spanId);
    expect(client?.kind).toBe(3); // SPAN_KIND_CLIENT
    expect(client?.attributes.find((a) => a.key === 'unicode')?.value).toEqual({ stringValue: 'é✓😀' });
    expect(client?.attributes.find((a) => a.key === 'big')?.value).toEqual({ intValue: 2 ** 40 + 3 });
    expect(client?.attributes.find((a) => a.key === 'negative')?.value).toEqual({ intValue: -7 });
    expect(client?.attributes.find((a) => a.key === 'double')?.value).toEqual({ doubleValue: 3.25 });
    expect(client?.attributes.find((a) => a.key === 'huge')?.value).toEqual({ stringValue: 'b'.repeat(20_000) });
    expect(decoded.resourceSpans[0]?.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'frontdesk-gateway' } });
  });
});
