/**
 * What the kit tells operators, without depending on any of it:
 *
 * - **Traces.** `@opentelemetry/api` is an optional peer dependency. When the subgraph has it and has
 *   registered an OpenTelemetry SDK, the kit's HTTP handler continues the gateway's W3C trace context (the
 *   `traceparent` the gateway sends is its subgraph-fetch span) with a SERVER span, and identity
 *   verification and authorization denials become span events on it. Without the package, or without an
 *   SDK, every function here is a no-op.
 * - **Authorization denials** are published on the diagnostics channel `AUTHZ_DENIED_CHANNEL`
 *   (`node:diagnostics_channel`), so a subgraph can write them to its audit log; nothing is built when
 *   no one subscribes.
 */
import { channel } from 'node:diagnostics_channel';
import type * as OpenTelemetry from '@opentelemetry/api';

/** Published for every denied field: `{ coordinate, code, context }` (see docs/subgraph-guide.md). */
export const AUTHZ_DENIED_CHANNEL = 'frontdesk:kit:authz-denied';

export interface AuthzDenial {
  /** "Type.field" */
  readonly coordinate: string;
  readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  /** The request's context (the kit's SubgraphContext, or the team's own). */
  readonly context: unknown;
}

const denied = channel(AUTHZ_DENIED_CHANNEL);

const api: typeof OpenTelemetry | undefined = await import('@opentelemetry/api').catch(() => undefined);
const tracer = api?.trace.getTracer('@frontdesk/kit');

type Attributes = Record<string, string | number | boolean>;

/**
 * Runs `handle` inside a SERVER span whose parent is the trace context in `headers` (never the caller's
 * active context: only what came over the wire counts).
 */
export function withServerSpan<T>(name: string, headers: Record<string, string | string[] | undefined>, attributes: Attributes, handle: (end: (status: number) => void) => Promise<T>): Promise<T> {
  if (!api || !tracer) return handle(() => {});
  const parent = api.propagation.extract(api.ROOT_CONTEXT, headers);
  const span = tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes }, parent);
  const end = (status: number) => {
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
    span.end();
  };
  return api.context.with(api.trace.setSpan(parent, span), () => handle(end));
}

/** An event on the active span, if there is one. */
export function spanEvent(name: string, attributes: Attributes): void {
  api?.trace.getActiveSpan()?.addEvent(name, attributes);
}

/** A field was denied: a span event, and a message for the channel's subscribers. */
export function reportDenial(denial: AuthzDenial): void {
  spanEvent('frontdesk.authz.denied', { 'graphql.field.coordinate': denial.coordinate, 'frontdesk.authz.code': denial.code });
  if (denied.hasSubscribers) denied.publish(denial);
}
