/**
 * Each request, seen from outside: the server span that continues the client's W3C trace context, the
 * request metrics, and one access log line when the response is done. It wraps the HTTP front (no
 * change to its logic); the front reports the request's context once it is built (`onContext`), and an
 * Apollo plugin adds the resolved operation's name and type.
 *
 * The access line: method, route, status, outcome, durationMs, requestId, traceId, operationName
 * (the name of an operation the document holds, at most 100 characters), principal (a hash, never the
 * subject), authMethod. Health and JWKS requests are logged at debug (load balancers poll them).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { context as otelContext, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { Principal } from '../auth/principal.ts';
import type { GatewayContext } from '../context.ts';
import type { Logger } from '../log.ts';
import type { GatewayMetrics, RequestOutcome, Route } from './metrics.ts';

interface RequestFacts {
  principal: Principal | undefined;
  operationName: string | undefined;
  graphqlErrors: boolean;
}

export interface RequestObserver {
  /** Wraps the HTTP front's listener. */
  wrap(listener: RequestListener): RequestListener;
  /** The front's hook: this request's context (its principal) is built. */
  onContext(req: IncomingMessage, context: GatewayContext): void;
  /** Operation name and type, GraphQL errors, operation duration. */
  readonly plugin: ApolloServerPlugin<GatewayContext>;
}

const MAX_OPERATION_NAME = 100;
const FACTS = Symbol('frontdesk.requestFacts');
const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

export function createRequestObserver(options: { log: Logger; metrics?: GatewayMetrics; tracer?: Tracer }): RequestObserver {
  const { metrics, tracer } = options;
  const access = options.log.child({ access: true });
  const byRequest = new WeakMap<IncomingMessage, RequestFacts>();

  const finish = (req: IncomingMessage, res: ServerResponse, facts: RequestFacts, route: Route, started: number, span: Span | undefined) => {
    const seconds = (performance.now() - started) / 1000;
    const status = res.statusCode;
    const outcome = outcomeOf(status, facts.graphqlErrors);
    metrics?.request(route, status, outcome, seconds);
    let traceId: string | undefined;
    if (span) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      traceId = span.spanContext().traceId;
      span.end();
    }
    const level = route === 'graphql' || route === 'other' ? 'info' : 'debug';
    if (!access.isEnabled(level)) return; // no line is built for a level nobody reads
    if (!span) {
      // Tracing off: the client's traceparent travels to the subgraphs unchanged, so its trace id still joins the logs.
      const header = req.headers.traceparent;
      traceId = typeof header === 'string' ? TRACEPARENT.exec(header)?.[1] : undefined;
    }
    const requestId = res.getHeader('x-request-id');
    const line = {
      method: req.method,
      route,
      status,
      outcome,
      durationMs: Math.round(seconds * 10_000) / 10,
      ...(typeof requestId === 'string' ? { requestId } : {}),
      ...(traceId ? { traceId } : {}),
      ...(facts.operationName !== undefined ? { operationName: facts.operationName } : {}),
      ...(facts.principal ? { principal: principalHash(facts.principal), authMethod: facts.principal.method } : {}),
      ...(res.writableFinished ? {} : { aborted: true }),
    };
    access[level]('request', line);
  };

  return {
    wrap(listener) {
      return (req, res) => {
        const started = performance.now();
        const route = routeOf(req.url);
        const facts: RequestFacts = { principal: undefined, operationName: undefined, graphqlErrors: false };
        byRequest.set(req, facts);
        if (!tracer) {
          res.once('close', () => finish(req, res, facts, route, started, undefined));
          return listener(req, res);
        }
        // The client's traceparent (if any) is the parent; a malformed one starts a new trace.
        const parent = propagation.extract(ROOT_CONTEXT, req.headers);
        const span = tracer.startSpan(`${req.method} ${route === 'graphql' ? '/graphql' : route}`, { kind: SpanKind.SERVER }, parent);
        // Attributes only for a span that is recorded: the ratio sampler does not read them, and 90 % of
        // requests are not sampled at 0.1 (docs/performance.md "Observability").
        if (span.isRecording()) {
          span.setAttributes({
            'http.request.method': req.method ?? '',
            'http.route': route,
            'url.scheme': 'http',
            'server.address': req.socket.localAddress ?? '',
            'server.port': req.socket.localPort ?? 0,
            'client.address': req.socket.remoteAddress ?? '',
            'network.protocol.version': req.httpVersion,
          });
        }
        res.once('close', () => finish(req, res, facts, route, started, span));
        otelContext.with(trace.setSpan(parent, span), listener, undefined, req, res);
      };
    },

    onContext(req, context) {
      const facts = byRequest.get(req);
      if (!facts) return;
      facts.principal = context.principal;
      // Apollo Server hands plugins a shallow copy of the context (Object.assign): a symbol-keyed
      // property travels with it, where a WeakMap keyed by the original object would not.
      (context as GatewayContext & { [FACTS]?: RequestFacts })[FACTS] = facts;
      if (tracer) trace.getActiveSpan()?.setAttribute('frontdesk.request_id', context.requestId);
    },

    plugin: {
      async requestDidStart({ contextValue }) {
        const facts = (contextValue as GatewayContext & { [FACTS]?: RequestFacts })[FACTS];
        const started = performance.now();
        let operationType = 'none';
        return {
          async didResolveOperation({ operationName, operation }) {
            operationType = operation?.operation ?? 'none';
            if (facts && operationName) facts.operationName = operationName.slice(0, MAX_OPERATION_NAME);
          },
          async willSendResponse({ response }) {
            if (facts && response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0) facts.graphqlErrors = true;
            metrics?.operation(operationType, (performance.now() - started) / 1000);
          },
        };
      },
    },
  };
}

function routeOf(url: string | undefined): Route {
  const query = url?.indexOf('?') ?? -1;
  const path = query >= 0 ? url?.slice(0, query) : url;
  switch (path) {
    case '/graphql':
    case '/':
      return 'graphql';
    case '/healthz':
      return 'healthz';
    case '/readyz':
      return 'readyz';
    case '/.well-known/jwks.json':
      return 'jwks';
    default:
      return 'other';
  }
}

function outcomeOf(status: number, graphqlErrors: boolean): RequestOutcome {
  if (status === 401 || status === 403) return 'refused';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'error';
  if (status >= 400) return 'rejected';
  return graphqlErrors ? 'partial' : 'ok';
}

const hashes = new WeakMap<Principal, string>();

/**
 * A pseudonymous, stable identifier of the caller for logs: who made these requests can be followed
 * without the subject appearing. SHA-256 of the principal's `id` (unique across issuers and methods),
 * 128 bits of it. Cached per Principal object (the verified-token cache reuses them).
 */
export function principalHash(principal: Principal): string | undefined {
  if (principal.id === undefined) return undefined;
  let hash = hashes.get(principal);
  if (hash === undefined) {
    hash = createHash('sha256').update(principal.id).digest('base64url').slice(0, 22);
    hashes.set(principal, hash);
  }
  return hash;
}
