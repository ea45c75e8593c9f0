/**
 * A batch of spans as an OTLP/protobuf ExportTraceServiceRequest (opentelemetry-proto,
 * collector/trace/v1/trace_service.proto, trace/v1/trace.proto, common/v1/common.proto; wire format:
 * https://protobuf.dev/programming-guides/encoding/), byte for byte what the SDK's own serializer
 * (`ProtobufTraceSerializer` of @opentelemetry/otlp-transformer) writes — a test holds the two equal.
 *
 * Why not the SDK's: in the gateway it took 32 µs of the ~80 µs of CPU a sampled one-fetch request (5
 * spans) cost, against 2 µs per span in a loop in a fresh process (`npm run bench:sampling` with
 * `--cpu-prof`; docs/performance.md "Observability", seventh pass). It walks every span twice (a size
 * estimate, then the write), allocates a Uint8Array per id, and copies ids and strings a character at a
 * time through the writer object. This walks once and writes ids and strings with Buffer's native hex and
 * UTF-8 encoders: 6 µs for the same request. The SDK's HTTP transport (retries, timeouts, headers) is
 * kept: `protobufTraceExporter` hands this encoder to it.
 */
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter, TimedEvent } from '@opentelemetry/sdk-trace-node';
import { Writer } from './protobuf-writer.ts';

type Link = ReadableSpan['links'][number];
type Resource = ReadableSpan['resource'];
type Scope = ReadableSpan['instrumentationScope'];

/** SpanFlags (trace.proto): the low byte is the W3C trace flags; bit 8 says whether bit 9 (remote) is known. */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/**
 * The SDK's OTLP/HTTP protobuf trace exporter (what @opentelemetry/exporter-trace-otlp-proto builds: its
 * transport, retries, timeout and headers) with encodeTraceExportRequest as the encoder. The response
 * is still read by the SDK's decoder (partial success).
 */
export function protobufTraceExporter(config: { url: string; headers: Record<string, string>; timeoutMillis: number }): SpanExporter {
  const serializer = {
    serializeRequest: (spans: ReadableSpan[]) => encodeTraceExportRequest(spans),
    deserializeResponse: (body: Uint8Array) => ProtobufTraceSerializer.deserializeResponse(body),
  };
  const options = convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  return new OTLPExporterBase(createOtlpHttpExportDelegate(options, serializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper, undefined));
}

export function encodeTraceExportRequest(spans: readonly ReadableSpan[]): Uint8Array {
  // Grouped by resource, then scope, in the order first seen (what the SDK's serializer does).
  const byResource = new Map<Resource, Map<Scope, ReadableSpan[]>>();
  for (const span of spans) {
    let byScope = byResource.get(span.resource);
    if (!byScope) byResource.set(span.resource, (byScope = new Map()));
    const list = byScope.get(span.instrumentationScope);
    if (list) list.push(span);
    else byScope.set(span.instrumentationScope, [span]);
  }
  const w = new Writer(1_024 + spans.length * 512);
  for (const [resource, byScope] of byResource) {
    const resourceSpans = w.open(1);
    const resourceMessage = w.open(1);
    writeAttributes(w, resource.attributes, 1);
    w.tag(2, 0);
    w.varint(0);
    w.close(resourceMessage);
    for (const [scope, list] of byScope) {
      const scopeSpans = w.open(2);
      const scopeMessage = w.open(1);
      w.tag(1, 2);
      w.string(scope.name);
      if (scope.version) {
        w.tag(2, 2);
        w.string(scope.version);
      }
      const { attributes, droppedAttributesCount } = scope as Scope & { attributes?: Record<string, unknown>; droppedAttributesCount?: number };
      if (attributes) writeAttributes(w, attributes, 3);
      if (droppedAttributesCount) {
        w.tag(4, 0);
        w.varint(droppedAttributesCount);
      }
      w.close(scopeMessage);
      for (const span of list) writeSpan(w, span);
      if (scope.schemaUrl) {
        w.tag(3, 2);
        w.string(scope.schemaUrl);
      }
      w.close(scopeSpans);
    }
    if (resource.schemaUrl) {
      w.tag(3, 2);
      w.string(resource.schemaUrl);
    }
    w.close(resourceSpans);
  }
  return w.finish();
}

/** trace.proto Span, fields 1–16 in order. */
function writeSpan(w: Writer, span: ReadableSpan): void {
  const message = w.open(2);
  const context = span.spanContext();
  w.tag(1, 2);
  w.hex(context.traceId);
  w.tag(2, 2);
  w.hex(context.spanId);
  const traceState = context.traceState?.serialize();
  if (traceState) {
    w.tag(3, 2);
    w.string(traceState);
  }
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, 2);
    w.hex(parent.spanId);
  }
  w.tag(5, 2);
  w.string(span.name);
  // SpanKind is offset by one in the proto (0 is unspecified).
  if (span.kind != null) {
    w.tag(6, 0);
    w.varint(span.kind + 1);
  }
  w.tag(7, 1);
  w.time(span.startTime);
  w.tag(8, 1);
  w.time(span.endTime);
  writeAttributes(w, span.attributes, 9);
  w.tag(10, 0);
  w.varint(span.droppedAttributesCount);
  for (const event of span.events) writeEvent(w, event);
  w.tag(12, 0);
  w.varint(span.droppedEventsCount);
  for (const link of span.links) writeLink(w, link);
  w.tag(14, 0);
  w.varint(span.droppedLinksCount);
  const status = w.open(15);
  if (span.status.message) {
    w.tag(2, 2);
    w.string(span.status.message);
  }
  w.tag(3, 0);
  w.varint(span.status.code);
  w.close(status);
  w.tag(16, 5);
  w.fixed32((context.traceFlags & 0xff) | HAS_IS_REMOTE | (parent?.isRemote ? IS_REMOTE : 0));
  w.close(message);
}

function writeEvent(w: Writer, event: TimedEvent): void {
  const message = w.open(11);
  w.tag(1, 1);
  w.time(event.time);
  w.tag(2, 2);
  w.string(event.name);
  if (event.attributes) writeAttributes(w, event.attributes, 3);
  w.tag(4, 0);
  w.varint(event.droppedAttributesCount ?? 0);
  w.close(message);
}

function writeLink(w: Writer, link: Link): void {
  const message = w.open(13);
  w.tag(1, 2);
  w.hex(link.context.traceId);
  w.tag(2, 2);
  w.hex(link.context.spanId);
  const traceState = link.context.traceState?.serialize();
  if (traceState) {
    w.tag(3, 2);
    w.string(traceState);
  }
  if (link.attributes) writeAttributes(w, link.attributes, 4);
  w.tag(5, 0);
  w.varint(link.droppedAttributesCount ?? 0);
  w.tag(6, 5);
  w.fixed32((link.context.traceFlags & 0xff) | HAS_IS_REMOTE | (link.context.isRemote ? IS_REMOTE : 0));
  w.close(message);
}

/** Repeated KeyValue under `field`: one per own key, in the object's order. */
function writeAttributes(w: Writer, attributes: Readonly<Record<string, unknown>>, field: number): void {
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    const keyValue = w.open(field);
    writeKeyValue(w, key, attributes[key]);
    w.close(keyValue);
  }
}

function writeKeyValue(w: Writer, key: string, value: unknown): void {
  w.tag(1, 2);
  w.string(key);
  const anyValue = w.open(2);
  writeAnyValue(w, value);
  w.close(anyValue);
}

const INT64_MIN = -(2 ** 63);
const INT64_END = 2 ** 63;

/** common.proto AnyValue: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7; nothing for null. */
function writeAnyValue(w: Writer, value: unknown): void {
  if (typeof value === 'string') {
    w.tag(1, 2);
    w.string(value);
  } else if (typeof value === 'boolean') {
    w.tag(2, 0);
    w.varint(value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_END) {
      w.tag(3, 0);
      w.varint(value);
    } else {
      w.tag(4, 1);
      w.double(value);
    }
  } else if (value instanceof Uint8Array) {
    w.tag(7, 2);
    w.bytes(value);
  } else if (Array.isArray(value)) {
    const array = w.open(5);
    for (const item of value) {
      const itemValue = w.open(1);
      writeAnyValue(w, item);
      w.close(itemValue);
    }
    w.close(array);
  } else if (typeof value === 'object' && value !== null) {
    const list = w.open(6);
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const keyValue = w.open(1);
      writeKeyValue(w, key, (value as Record<string, unknown>)[key]);
      w.close(keyValue);
    }
    w.close(list);
  }
}
