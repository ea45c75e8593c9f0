/**
 * gateway/observability/tracing.ts `startRequest`: each request is sampled once, before any span exists, by
 * the parent-based rule: the client's decision when it continues a trace, else a draw at the ratio. A sampled
 * request gets the SDK's SERVER span on its own trace id; an unsampled one gets no span and no context, only
 * the trace context it writes into its subgraph requests.
 */
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../../gateway/observability/tracing.ts';

const SERVICE = { name: 'test', version: '0' };
// A receiver that takes whatever the exporter flushes at shutdown.
let receiver: Server;
let endpoint: string;
beforeAll(async () => {
  receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
});
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
const tracingAt = (ratio: number) => startTracing({ otlp: { endpoint, headers: [], protocol: 'http/protobuf' }, sampler: { ratio } }, SERVICE) as Tracing;
/** The headers a request's subgraph fetch carries (the data source's `traceHeaders` hook calls `inject`). */
const sentBy = (request: { inject(headers: Record<string, string>): void }) => {
  const headers: Record<string, string> = {};
  request.inject(headers);
  return headers;
};

let tracing: Tracing | undefined;
afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

describe('a request with no trace context', () => {
  it('is sampled at the ratio, and a sampled one is recorded on its own trace id', () => {
    tracing = tracingAt(0.5);
    let sampled = 0;
    for (let i = 0; i < 400; i++) {
      const request = tracing.startRequest('POST /graphql', {});
      expect(request.traceId).toMatch(/^[\da-f]{32}$/);
      if (request.span) {
        sampled++;
        expect(request.span.isRecording()).toBe(true);
        expect(request.span.spanContext().traceId).toBe(request.traceId);
        expect(trace.getSpan(request.context as Context)).toBe(request.span);
        request.span.end();
      } else {
        // What its subgraphs receive: its trace id, a span id of the gateway's, not sampled.
        expect(request.context).toBeUndefined();
        expect(sentBy(request)).toEqual({ traceparent: expect.stringMatching(new RegExp(`^00-${request.traceId}-[\\da-f]{16}-00$`)) });
      }
    }
    expect(sampled).toBeGreaterThan(120);
    expect(sampled).toBeLessThan(280);
  });

  it("leaves any other new root to the SDK's trace-id ratio rule", () => {
    tracing = tracingAt(0.5);
    const byTraceId = new TraceIdRatioBasedSampler(0.5);
    const tracer = trace.getTracer('test');
    let recorded = 0;
    for (let i = 0; i < 200; i++) {
      // A sampled request just before must not lend its decision to the next root.
      tracing.startRequest('POST /graphql', {}).span?.end();
      const root = tracer.startSpan('job', { root: true });
      const expected = byTraceId.shouldSample(ROOT_CONTEXT, root.spanContext().traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      expect(root.isRecording()).toBe(expected);
      if (expected) recorded++;
      root.end();
    }
    expect(recorded).toBeGreaterThan(50);
    expect(recorded).toBeLessThan(150);
  });

  it('at ratio 0 is never recorded and at ratio 1 always', async () => {
    tracing = tracingAt(0);
    for (let i = 0; i < 50; i++) expect(tracing.startRequest('GET /healthz', {}).span).toBeUndefined();
    await tracing.shutdown();
    tracing = tracingAt(1);
    for (let i = 0; i < 50; i++) expect(tracing.startRequest('GET /healthz', {}).span?.isRecording()).toBe(true);
  });
});

describe("a request continuing the client's trace context", () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const CLIENT_SPAN = '00f067aa0ba902b7';

  it('follows the sampled flag, whatever the ratio', () => {
    tracing = tracingAt(0);
    const sampled = tracing.startRequest('POST /graphql', { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01` });
    expect(sampled.traceId).toBe(TRACE);
    expect(sampled.span?.isRecording()).toBe(true);
    expect(sampled.span?.spanContext().traceId).toBe(TRACE);
    sampled.span?.end();
  });

  it('unsampled: no span; the subgraphs get its trace id, the unsampled flag and its tracestate', async () => {
    tracing = tracingAt(1);
    const request = tracing.startRequest('POST /graphql', { traceparent: `00-${TRACE}-${CLIENT_SPAN}-00`, tracestate: 'vendor=abc' });
    expect(request.traceId).toBe(TRACE);
    expect(request.span).toBeUndefined();
    const sent = sentBy(request);
    expect(sent.traceparent).toMatch(new RegExp(`^00-${TRACE}-[\\da-f]{16}-00$`));
    expect(sent.traceparent).not.toContain(CLIENT_SPAN);
    expect(sent.tracestate).toBe('vendor=abc');
    // The propagator reads it back as the same trace, not sampled; every fetch of the request sends the same.
    const read = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, sent));
    expect(read).toMatchObject({ traceId: TRACE, spanId: sent.traceparent?.slice(36, 52), traceFlags: TraceFlags.NONE });
    expect(read?.traceState?.get('vendor')).toBe('abc');
    expect(sentBy(request)).toEqual(sent);
  });

  it("unsampled with the client's baggage: the subgraphs get the baggage too", async () => {
    tracing = tracingAt(1);
    const request = tracing.startRequest('POST /graphql', { traceparent: `00-${TRACE}-${CLIENT_SPAN}-00`, baggage: 'tenant=acme' });
    const sent = sentBy(request);
    expect(sent.traceparent).toMatch(new RegExp(`^00-${TRACE}-[\\da-f]{16}-00$`));
    expect(sent.baggage).toBe('tenant=acme');
    expect(sentBy(request)).toEqual(sent);
  });

  it("a new trace with only the client's baggage: the subgraphs get the baggage, on the gateway's own trace", async () => {
    tracing = tracingAt(0);
    const request = tracing.startRequest('POST /graphql', { baggage: 'tenant=acme' });
    expect(request.traceId).toMatch(/^[\da-f]{32}$/);
    const sent = sentBy(request);
    expect(sent.traceparent).toMatch(new RegExp(`^00-${request.traceId}-[\\da-f]{16}-00$`));
    expect(sent.baggage).toBe('tenant=acme');
  });

  it('with no trace context and no baggage: a new trace, and only a traceparent sent', async () => {
    tracing = tracingAt(0);
    const request = tracing.startRequest('POST /graphql', {});
    expect(sentBy(request)).toEqual({ traceparent: expect.stringMatching(new RegExp(`^00-${request.traceId}-[\\da-f]{16}-00$`)) });
  });

  it('sampled: the subgraphs get the active span (the fetch span) as their parent', () => {
    tracing = tracingAt(1);
    const request = tracing.startRequest('POST /graphql', {});
    const fetch = trace.getTracer('test').startSpan('fetch', {}, request.context);
    const sent = context.with(trace.setSpan(request.context as Context, fetch), () => sentBy(request));
    expect(sent.traceparent).toBe(`00-${request.traceId}-${fetch.spanContext().spanId}-01`);
    fetch.end();
    request.end(200);
  });

  it('a malformed traceparent starts a new trace, sampled by the ratio', () => {
    tracing = tracingAt(1);
    for (const traceparent of [`ff-${TRACE}-${CLIENT_SPAN}-01`, `00-${'0'.repeat(32)}-${CLIENT_SPAN}-01`, `00-${TRACE}-${CLIENT_SPAN}-01-extra`, 'garbage']) {
      const request = tracing.startRequest('POST /graphql', { traceparent });
      expect(request.traceId).not.toBe(TRACE);
      expect(request.span?.isRecording()).toBe(true);
      expect(request.span?.spanContext().traceId).toBe(request.traceId);
      request.span?.end();
    }
  });
});

/**
 * Where AsyncLocalStorage propagates by a hook on every promise (Node 20), the hook is on only while a
 * sampled request is in flight. Seen from outside: a promise continuation has an async id of its own only
 * while promise hooks are installed (0 otherwise).
 */
const hookBased = typeof (AsyncLocalStorage.prototype as { _propagate?: unknown })._propagate === 'function';
const promiseHooksOn = async () => {
  await null;
  return executionAsyncId() !== 0;
};

describe.runIf(hookBased)('the context propagation hook (Node 20)', () => {
  it('is installed by a sampled request and removed when the last sampled request in flight ends', async () => {
    tracing = tracingAt(1);
    expect(await promiseHooksOn()).toBe(false);
    const first = tracing.startRequest('POST /graphql', {});
    const second = tracing.startRequest('POST /graphql', {});
    // What the request wrapper does with a sampled request: its handler runs in the request's context.
    const seen = await context.with(first.context as Context, async () => {
      await null;
      return { hooks: await promiseHooksOn(), span: trace.getActiveSpan() };
    });
    expect(seen).toEqual({ hooks: true, span: first.span });
    first.end(200);
    expect(await promiseHooksOn()).toBe(true); // the second is still in flight
    second.end(200);
    expect(await promiseHooksOn()).toBe(false);
    // An unsampled request neither installs it nor needs it.
    await tracing.shutdown();
    tracing = tracingAt(0);
    const unsampled = tracing.startRequest('POST /graphql', {});
    unsampled.end(200);
    expect(await promiseHooksOn()).toBe(false);
    // The next sampled request installs it again, and its context follows its awaits.
    await tracing.shutdown();
    tracing = tracingAt(1);
    const third = tracing.startRequest('POST /graphql', {});
    expect(await context.with(third.context as Context, async () => (await promiseHooksOn()) && trace.getActiveSpan() === third.span)).toBe(true);
    third.end(200);
    expect(await promiseHooksOn()).toBe(false);
  });

  it('is removed again after the exporter has run in a context of its own with no sampled request in flight', async () => {
    tracing = tracingAt(1);
    tracing.startRequest('POST /graphql', {}).end(200);
    expect(await promiseHooksOn()).toBe(false);
    // The batch processor exports its queued span within a second, inside `context.with` (which installs the hook).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await promiseHooksOn()).toBe(false);
  });
});
