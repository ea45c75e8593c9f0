/**
 * One connected trace from the client through the gateway into the subgraph resolver, as an operator's
 * collector receives it: a real OTLP/HTTP receiver started by the test decodes what the gateway's exporter
 * sends (binary protobuf, the default encoding, or JSON; test/support/otlp.ts). The subgraphs run in this
 * process, so their kit spans reach the same exporter — but they are connected only through the
 * `traceparent` header on the wire.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceExport, type OtlpSpan } from '../../support/otlp.ts';
import { startStack, type Stack } from '../../support/stack.ts';
import { startObservedGateway, type ObservedGateway } from './support.ts';

const SERVER = 2;
const CLIENT = 3;

let receiver: Server;
let endpoint: string;
const received: Array<{ headers: Record<string, string | string[] | undefined>; spans: OtlpSpan[]; service: unknown }> = [];
let stack: Stack;
let observed: ObservedGateway;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = decodeTraceExport(Buffer.concat(chunks), req.headers['content-type']);
      for (const resourceSpans of body.resourceSpans) {
        const service = resourceSpans.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
        received.push({ headers: req.headers, service, spans: resourceSpans.scopeSpans.flatMap((scope) => scope.spans) });
      }
      // An empty ExportTraceServiceResponse, in the request's encoding (full success).
      const json = req.headers['content-type']?.startsWith('application/json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
  stack = await startStack();
  observed = await startObservedGateway(stack, {
    // Ratio 0: only what the client asks to sample is recorded (parent-based sampling).
    tracing: { otlp: { endpoint, headers: ['x-collector-key=s3cret-value'] }, sampler: { ratio: 0 } },
  });
});

afterAll(async () => {
  await stack?.close();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value && (value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue);
};

describe('a request traced from the client to the subgraph resolver', () => {
  it('is one connected trace: client → gateway (request, authenticate, plan, fetch) → subgraph (verification, denial events)', async () => {
    const query = 'query Traced { topProducts(first: 1) { upc reviews { rating author { username } } } user(id: "u2") { email } }';
    const traced = await observed.query({ query }, { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01`, 'x-request-id': 'trace-req-1' });
    expect(traced.status).toBe(200);
    const subgraphTraceparents = Object.values(stack.subgraphs).flatMap((s) => s.received.map((r) => r.headers.traceparent as string));
    stack.resetReceived();
    // Not asked to be sampled (and ratio 0): nothing is recorded, but the context still propagates.
    await observed.query({ query: '{ topProducts(first: 1) { upc } }' }, { 'x-request-id': 'untraced-1' });
    const unsampled = stack.subgraphs.products.received.map((r) => r.headers.traceparent as string);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the access line is written on 'close'
    await observed.gateway.close(); // flushes the exporter

    const spans = received.flatMap((batch) => batch.spans);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([TRACE]));
    expect(new Set(received.map((batch) => batch.service))).toEqual(new Set(['frontdesk-gateway']));
    expect(received[0]?.headers['x-collector-key']).toBe('s3cret-value');
    expect(observed.lines.join('')).not.toContain('s3cret-value');

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    // Every span leads back to the client's span through its parents.
    for (const span of spans) {
      let current: OtlpSpan | undefined = span;
      const seen = new Set<string>();
      while (current?.parentSpanId && current.parentSpanId !== CLIENT_SPAN && !seen.has(current.spanId)) {
        seen.add(current.spanId);
        current = byId.get(current.parentSpanId);
      }
      expect(current?.parentSpanId, `span ${span.name} is not connected to the client`).toBe(CLIENT_SPAN);
    }

    const gatewayServer = spans.find((s) => s.parentSpanId === CLIENT_SPAN);
    expect(gatewayServer).toMatchObject({ name: 'POST /graphql', kind: SERVER });
    expect(attribute(gatewayServer as OtlpSpan, 'http.request.method')).toBe('POST');
    expect(Number(attribute(gatewayServer as OtlpSpan, 'http.response.status_code'))).toBe(200);
    expect(attribute(gatewayServer as OtlpSpan, 'frontdesk.request_id')).toBe('trace-req-1');

    const authenticate = spans.find((s) => s.name === 'authenticate');
    expect(authenticate?.parentSpanId).toBe(gatewayServer?.spanId);
    expect(attribute(authenticate as OtlpSpan, 'frontdesk.auth.result')).toBe('anonymous');
    // Apollo Gateway's own spans, inside the request span.
    for (const name of ['gateway.plan', 'gateway.fetch']) expect(spans.map((s) => s.name)).toContain(name);
    // Its request span is merged into the SERVER span, and validation, execution and post-processing folded
    // (docs/production.md "Traces"): the plan and each fetch are the SERVER span's children, and the
    // operation's name and type are on it.
    for (const name of ['gateway.request', 'gateway.validate', 'gateway.execute', 'gateway.postprocessing']) expect(spans.map((s) => s.name)).not.toContain(name);
    for (const apollo of spans.filter((s) => s.name === 'gateway.fetch' || s.name === 'gateway.plan')) expect(apollo.parentSpanId).toBe(gatewayServer?.spanId);
    expect(attribute(gatewayServer as OtlpSpan, 'graphql.operation.name')).toBe('Traced');
    expect(attribute(gatewayServer as OtlpSpan, 'graphql.operation.type')).toBe('query');
    // With its status: the answer carries an error (User.email denied), so the request is ERROR in a 200.
    expect(gatewayServer?.status?.code).toBe(2);

    const fetches = spans.filter((s) => s.kind === CLIENT);
    expect(fetches.map((s) => s.name).sort()).toEqual(['subgraph accounts', 'subgraph accounts', 'subgraph products', 'subgraph reviews']);
    const accountsUrl = new URL(stack.subgraphs.accounts.url);
    const accountsFetch = fetches.find((s) => s.name === 'subgraph accounts') as OtlpSpan;
    expect(attribute(accountsFetch, 'server.address')).toBe(accountsUrl.hostname);
    expect(Number(attribute(accountsFetch, 'server.port'))).toBe(Number(accountsUrl.port));
    expect(attribute(accountsFetch, 'http.request.method')).toBe('POST');

    // Each subgraph continued the fetch span it was called from: the traceparent on the wire.
    const kitSpans = spans.filter((s) => s.kind === SERVER && s !== gatewayServer);
    expect(kitSpans).toHaveLength(4);
    for (const kitSpan of kitSpans) expect(fetches.map((f) => f.spanId)).toContain(kitSpan.parentSpanId);
    expect(subgraphTraceparents.sort()).toEqual(kitSpans.map((s) => `00-${TRACE}-${s.parentSpanId}-01`).sort());
    for (const kitSpan of kitSpans) expect(kitSpan.events?.map((e) => e.name)).toContain('frontdesk.identity.verified');
    const denied = kitSpans.flatMap((s) => s.events ?? []).filter((e) => e.name === 'frontdesk.authz.denied');
    expect(denied.map((e) => e.attributes.find((a) => a.key === 'graphql.field.coordinate')?.value.stringValue)).toEqual(['User.email']);

    // The unsampled request: a gateway span context travels (flags 00), not the absent client's.
    expect(unsampled).toHaveLength(1);
    expect(unsampled[0]).toMatch(/^00-[\da-f]{32}-[\da-f]{16}-00$/);
    expect(unsampled[0]).not.toContain(TRACE);
    // Its log lines carry the trace id its subgraph received, though no span of it exists.
    const untracedLines = observed.logs.filter((line) => line.requestId === 'untraced-1' && (line.access || line.audit));
    expect(untracedLines.map((line) => (line.access ? 'access' : 'audit')).sort()).toEqual(['access', 'audit']);
    for (const line of untracedLines) expect(line.traceId).toBe(unsampled[0]?.split('-')[1]);
  });
});

describe('the export encoding', () => {
  it('is binary protobuf by default, and JSON with `protocol: http/json`, carrying the same trace', async () => {
    // The default gateway's batches came in above; a second gateway exports JSON.
    expect(received.length).toBeGreaterThan(0);
    for (const batch of received) expect(batch.headers['content-type']).toBe('application/x-protobuf');
    received.length = 0;
    const json = await startObservedGateway(stack, { tracing: { otlp: { endpoint, protocol: 'http/json' }, sampler: { ratio: 0 } } });
    const trace = '0af7651916cd43dd8448eb211c80319c';
    const response = await json.query({ query: '{ topProducts(first: 1) { upc } }' }, { traceparent: `00-${trace}-b7ad6b7169203331-01` });
    expect(response.status).toBe(200);
    await json.gateway.close();
    const gatewayBatches = received.filter((batch) => batch.service === 'frontdesk-gateway');
    expect(gatewayBatches.length).toBeGreaterThan(0);
    for (const batch of gatewayBatches) expect(batch.headers['content-type']).toBe('application/json');
    const names = gatewayBatches.flatMap((batch) => batch.spans).filter((span) => span.traceId === trace).map((span) => span.name);
    // Frontdesk's own spans: Apollo Gateway holds the API's tracer from the first gateway of this process,
    // which is why a process runs one traced gateway (gateway/observability/tracing.ts).
    expect(names.sort()).toEqual(['POST /graphql', 'authenticate', 'subgraph products']);
  });
});
