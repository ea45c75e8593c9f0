/**
 * `npm run bench:tracing`: what one sampled request's spans cost the gateway's process, by OTLP encoding.
 * Each simulated request makes the spans of a sampled one-fetch query (docs/production.md "Traces": the
 * request's SERVER span, `authenticate`, `gateway.request`, `gateway.fetch` and the subgraph CLIENT span,
 * with the attributes the gateway sets), nested through the AsyncLocalStorage context as in the gateway,
 * and ends them; the SDK's BatchSpanProcessor exports them over OTLP/HTTP to a receiver in a child
 * process (its decoding is not counted). The figure is this process's CPU time (user + system) per request,
 * export included, at a steady ~800 requests/s, median of BATCHES runs; `none` makes no span, for the
 * harness's own cost. `protobuf` is the SDK's own OTLP/protobuf exporter, `frontdesk` the one the gateway
 * uses (the SDK's transport with gateway/observability/otlp-protobuf.ts as the encoder). Each encoding runs
 * in a process of its own (the API's provider is process-global).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { TSX_NODE_ARGS } from '../dev/node-args.ts';
import { protobufTraceExporter } from '../gateway/observability/otlp-protobuf.ts';

const BATCHES = 5;
const REQUESTS = 2_000;
const encoding = process.argv[2] as 'none' | 'json' | 'protobuf' | 'frontdesk' | 'receiver' | undefined;

if (encoding === undefined) {
  // The receiver in a child, then each encoding in a process of its own.
  const receiver = spawn(process.execPath, [...TSX_NODE_ARGS, process.argv[1] as string, 'receiver'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => receiver.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  process.stdout.write(`one sampled one-fetch request's spans (5), CPU per request, median of ${BATCHES} runs of ${REQUESTS}\n\n`);
  for (const name of ['none', 'json', 'protobuf', 'frontdesk', 'json', 'protobuf', 'frontdesk']) {
    process.stdout.write(execFileSync(process.execPath, [...TSX_NODE_ARGS, process.argv[1] as string, name, url], { encoding: 'utf8' }));
  }
  receiver.kill();
} else if (encoding === 'receiver') {
  const server = createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': req.headers['content-type'] ?? '' }).end(req.headers['content-type']?.includes('json') ? '{}' : '')));
  server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces\n`));
} else {
  const url = process.argv[3] as string;
  const exporter = encoding === 'json' ? new JsonTraceExporter({ url }) : encoding === 'frontdesk' ? protobufTraceExporter({ url, headers: {}, timeoutMillis: 10_000 }) : new ProtobufTraceExporter({ url });
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 2_048, scheduledDelayMillis: 1_000 })] });
  if (encoding !== 'none') provider.register({ contextManager: new AsyncLocalStorageContextManager() });
  const tracer = trace.getTracer('bench');
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  const request = async () => {
    const server = tracer.startSpan('POST /graphql', { kind: SpanKind.SERVER });
    server.setAttributes({ 'http.request.method': 'POST', 'http.route': 'graphql', 'url.scheme': 'http', 'server.address': '127.0.0.1', 'server.port': 4000, 'client.address': '127.0.0.1', 'network.protocol.version': '1.1' });
    server.setAttribute('frontdesk.request_id', 'c0ffee00-0000-4000-8000-000000000000');
    await context.with(trace.setSpan(ROOT_CONTEXT, server), async () => {
      await tracer.startActiveSpan('authenticate', async (span) => {
        await tick();
        span.setAttributes({ 'frontdesk.auth.method': 'jwt', 'frontdesk.auth.result': 'accepted', 'frontdesk.auth.issuer': 'https://idp.example' });
        span.end();
      });
      await tracer.startActiveSpan('gateway.request', { attributes: { 'graphql.operation.name': 'Products', operationName: 'Products' } }, async (span) => {
        span.setAttributes({ 'graphql.operation.type': 'query' });
        await tracer.startActiveSpan('gateway.fetch', { attributes: { service: 'products' } }, async (fetch) => {
          const attributes = { 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'server.port': 4002, 'url.full': 'http://127.0.0.1:4002/graphql', 'frontdesk.subgraph.name': 'products' };
          await tracer.startActiveSpan('subgraph products', { kind: SpanKind.CLIENT, attributes }, async (client) => {
            await tick();
            client.setAttribute('frontdesk.subgraph.result', 'ok');
            client.end();
          });
          fetch.end();
        });
        span.end();
      });
    });
    server.setAttribute('http.response.status_code', 200);
    server.end();
  };

  const perRequest: number[] = [];
  for (let run = 0; run <= BATCHES; run++) {
    const before = process.cpuUsage();
    // 8 at a time every 10 ms: ~800 requests/s, below the queue's bound (spans are exported, not dropped).
    for (let i = 0; i < REQUESTS; i += 8) {
      await Promise.all(Array.from({ length: 8 }, request));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await provider.forceFlush();
    const used = process.cpuUsage(before);
    if (run > 0) perRequest.push((used.user + used.system) / REQUESTS); // run 0 warms up
  }
  perRequest.sort((a, b) => a - b);
  process.stdout.write(`${encoding.padEnd(10)} ${(perRequest[Math.floor(BATCHES / 2)] as number).toFixed(1).padStart(7)} µs CPU per request   (min ${(perRequest[0] as number).toFixed(1)}, max ${(perRequest.at(-1) as number).toFixed(1)})\n`);
  await provider.shutdown();
}
