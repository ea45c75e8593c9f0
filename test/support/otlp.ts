/**
 * What an OTLP/HTTP trace receiver decodes: an ExportTraceServiceRequest in either encoding the gateway's
 * exporter can send (`tracing.otlp.protocol`), returned in the OTLP/JSON shape
 * (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding: ids as hex, attribute values as
 * `{ stringValue | boolValue | intValue | doubleValue }`).
 *
 * The binary decoder is written here, from the protobuf wire format
 * (https://protobuf.dev/programming-guides/encoding/) and the field numbers of opentelemetry-proto's
 * trace/v1/trace.proto and common/v1/common.proto: the test must decode independently of the SDK that
 * encodes (its own reader is internal to @opentelemetry/otlp-transformer), and only the fields the tests
 * read are mapped.
 */

export interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttribute[];
  events?: Array<{ name: string; attributes: OtlpAttribute[] }>;
  /** Status: code 0 unset, 1 ok, 2 error. */
  status?: { code: number; message?: string };
}

export interface OtlpTraceExport {
  resourceSpans: Array<{ resource: { attributes: OtlpAttribute[] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
}

export function decodeTraceExport(body: Buffer, contentType: string | undefined): OtlpTraceExport {
  if (contentType?.startsWith('application/json')) return JSON.parse(body.toString('utf8')) as OtlpTraceExport;
  if (contentType?.startsWith('application/x-protobuf')) {
    return { resourceSpans: fieldsOf(body, 1).map((resourceSpans) => ({
      resource: { attributes: fieldsOf(fieldsOf(resourceSpans, 1)[0], 1).map(keyValue) },
      scopeSpans: fieldsOf(resourceSpans, 2).map((scopeSpans) => ({ spans: fieldsOf(scopeSpans, 2).map(span) })),
    })) };
  }
  throw new Error(`not an OTLP/HTTP content type: ${contentType}`);
}

/** How many spans one export holds, without decoding them (the bench's receiver counts every export). */
export function countSpans(body: Buffer, contentType: string | undefined): number {
  if (contentType?.startsWith('application/json')) {
    return decodeTraceExport(body, contentType).resourceSpans.reduce((sum, resource) => sum + resource.scopeSpans.reduce((n, scope) => n + scope.spans.length, 0), 0);
  }
  return fieldsOf(body, 1).reduce((sum, resource) => sum + fieldsOf(resource, 2).reduce((n, scope) => n + fieldsOf(scope, 2).length, 0), 0);
}

type Value = bigint | Buffer;

/** Every field of one message, in order: field number and value (a varint as bigint; bytes, fixed64 and fixed32 as Buffer). */
function decodeMessage(buffer: Buffer): Array<[number, Value]> {
  const fields: Array<[number, Value]> = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= buffer.length) throw new Error('truncated varint');
      const byte = buffer[pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  const take = (length: number): Buffer => {
    if (pos + length > buffer.length) throw new Error('truncated field');
    const bytes = buffer.subarray(pos, pos + length);
    pos += length;
    return bytes;
  };
  while (pos < buffer.length) {
    const tag = varint();
    const field = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (wireType === 0) fields.push([field, varint()]);
    else if (wireType === 1) fields.push([field, take(8)]);
    else if (wireType === 2) fields.push([field, take(Number(varint()))]);
    else if (wireType === 5) fields.push([field, take(4)]);
    else throw new Error(`unsupported wire type ${wireType}`);
  }
  return fields;
}

/** The values of one field number of a message (repeated fields in order); an absent message has none. */
function fieldsOf(message: Buffer | undefined, field: number): Buffer[] {
  if (!message) return [];
  return decodeMessage(message).flatMap(([number, value]) => (number === field && Buffer.isBuffer(value) ? [value] : []));
}

function scalar(message: Buffer, field: number): Value | undefined {
  return decodeMessage(message).find(([number]) => number === field)?.[1];
}

/** trace.proto Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, attributes 9, events 11, status 15 (message 2, code 3). */
function span(message: Buffer): OtlpSpan {
  const parent = scalar(message, 4) as Buffer | undefined;
  const status = scalar(message, 15) as Buffer | undefined;
  const statusMessage = status && (scalar(status, 2) as Buffer | undefined)?.toString('utf8');
  const events = fieldsOf(message, 11).map((event) => ({ name: (scalar(event, 2) as Buffer | undefined)?.toString('utf8') ?? '', attributes: fieldsOf(event, 3).map(keyValue) }));
  return {
    traceId: (scalar(message, 1) as Buffer).toString('hex'),
    spanId: (scalar(message, 2) as Buffer).toString('hex'),
    ...(parent && parent.length > 0 ? { parentSpanId: parent.toString('hex') } : {}),
    name: (scalar(message, 5) as Buffer).toString('utf8'),
    kind: Number(scalar(message, 6) ?? 0n),
    attributes: fieldsOf(message, 9).map(keyValue),
    ...(events.length > 0 ? { events } : {}),
    status: { code: Number((status && scalar(status, 3)) ?? 0n), ...(statusMessage ? { message: statusMessage } : {}) },
  };
}

/** common.proto KeyValue (key 1, value 2) and AnyValue (string 1, bool 2, int64 3, double 4). */
function keyValue(message: Buffer): OtlpAttribute {
  const key = (scalar(message, 1) as Buffer).toString('utf8');
  const any = scalar(message, 2) as Buffer | undefined;
  const [field, raw] = any ? (decodeMessage(any)[0] ?? []) : [];
  if (field === 1) return { key, value: { stringValue: (raw as Buffer).toString('utf8') } };
  if (field === 2) return { key, value: { boolValue: raw === 1n } };
  if (field === 3) return { key, value: { intValue: Number(BigInt.asIntN(64, raw as bigint)) } };
  if (field === 4) return { key, value: { doubleValue: (raw as Buffer).readDoubleLE(0) } };
  return { key, value: {} };
}
