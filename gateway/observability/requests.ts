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
import { context as otelContext } from '@opentelemetry/api';
import type { Principal } from '../auth/principal.ts';
import type { GatewayContext } from '../context.ts';
import type { Logger } from '../log.ts';
import type { GatewayMetrics, RequestOutcome, Route } from './metrics.ts';
import type { RequestTrace, Tracing } from './tracing.ts';

interface RequestFacts {
  principal: Principal | undefined;
  operationName: string | undefined;
  graphqlErrors: boolean;
  /** With tracing on: the request's place in its trace. */
  trace: RequestTrace | undefined;
  /** The trace id of the logs, once read. */
  traceId?: string | undefined;
}

export interface RequestObserver {
  /** Wraps the HTTP front's listener. */
  wrap(listener: RequestListener): RequestListener;
  /** The front's hook: this request's context (its principal) is built. */
  onContext(req: IncomingMessage, context: GatewayContext): void;
  /**
   * The trace id this request's log lines carry: the gateway's trace when tracing is on; otherwise the
   * client's `traceparent`, which then travels to the subgraphs unchanged.
   */
  traceIdOf(req: IncomingMessage): string | undefined;
  /** Operation name and type, GraphQL errors, operation duration. */
  readonly plugin: ApolloServerPlugin<GatewayContext>;
}

const MAX_OPERATION_NAME = 100;
const FACTS = Symbol('frontdesk.requestFacts');
const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

export function createRequestObserver(options: { log: Logger; metrics?: GatewayMetrics; tracing?: Tracing }): RequestObserver {
  const { metrics, tracing } = options;
  const access = options.log.child({ access: true });
  const byRequest = new WeakMap<IncomingMessage, RequestFacts>();

  const traceIdOf = (req: IncomingMessage, facts: RequestFacts): string | undefined => {
    if (facts.trace) return facts.trace.traceId;
    if (!('traceId' in facts)) {
      const header = req.headers.traceparent;
      facts.traceId = typeof header === 'string' ? TRACEPARENT.exec(header)?.[1] : undefined;
    }
    return facts.traceId;
  };

  const finish = (req: IncomingMessage, res: ServerResponse, facts: RequestFacts, route: Route, started: number) => {
    const seconds = (performance.now() - started) / 1000;
    const status = res.statusCode;
    const outcome = outcomeOf(status, facts.graphqlErrors);
    metrics?.request(route, status, outcome, seconds);
    facts.trace?.end(status);
    const level = route === 'graphql' || route === 'other' ? 'info' : 'debug';
    if (!access.isEnabled(level)) return; // no line is built for a level nobody reads
    const traceId = traceIdOf(req, facts);
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
        const traced = tracing?.startRequest(`${req.method} ${route === 'graphql' ? '/graphql' : route}`, req.headers);
        const facts: RequestFacts = { principal: undefined, operationName: undefined, graphqlErrors: false, trace: traced };
        byRequest.set(req, facts);
        res.once('close', () => finish(req, res, facts, route, started));
        // Unsampled (or tracing off): no span, and no context is entered (./tracing.ts).
        if (!traced?.span || !traced.context) return listener(req, res);
        // Attributes after the sampling decision: the ratio sampler does not read them.
        traced.span.setAttributes({
          'http.request.method': req.method ?? '',
          'http.route': route,
          'url.scheme': 'http',
          'server.address': req.socket.localAddress ?? '',
          'server.port': req.socket.localPort ?? 0,
          'client.address': req.socket.remoteAddress ?? '',
          'network.protocol.version': req.httpVersion,
        });
        otelContext.with(traced.context, listener, undefined, req, res);
      };
    },

    onContext(req, context) {
      const facts = byRequest.get(req);
      if (!facts) return;
      facts.principal = context.principal;
      // Apollo Server hands plugins a shallow copy of the context (Object.assign): a symbol-keyed
      // property travels with it, where a WeakMap keyed by the original object would not.
      (context as GatewayContext & { [FACTS]?: RequestFacts })[FACTS] = facts;
      facts.trace?.span?.setAttribute('frontdesk.request_id', context.requestId);
    },

    traceIdOf(req) {
      const facts = byRequest.get(req);
      return facts ? traceIdOf(req, facts) : undefined;
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

/** The request's place in its trace, from its context (or a plugin's or data source's copy of it); undefined with tracing off. */
export function requestTraceOf(context: GatewayContext): RequestTrace | undefined {
  return (context as GatewayContext & { [FACTS]?: RequestFacts })[FACTS]?.trace;
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
