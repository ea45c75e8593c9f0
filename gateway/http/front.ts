/**
 * The gateway's HTTP front: every request enters here. It routes (health, readiness, the identity JWKS,
 * GraphQL), gives the request its id, checks the envelope (method, content type), authenticates from the
 * headers alone — a refused credential costs no body read and no JSON parse — then reads and bounds the
 * body and hands the request to Apollo. Every refusal is an error of the catalogue (docs/errors.md).
 * Operations are admitted before authentication, and run under a deadline (docs/overload.md).
 * CORS is answered before routing (./cors.ts); `/auth/*` and the session cookie belong to ./session-routes.ts.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { ANSWERED, isJsonContentType, parseRequestTarget, sendError, sendJson, toHeaderMap, writeResponse, type RequestTarget } from '@frontdesk/kit/node-http';
import type { Authenticator } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import type { GatewayConfig } from '../config/types.ts';
import type { GatewayContext } from '../context.ts';
import { AuthError, authErrorResponse } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Admission } from './admission.ts';
import type { AuthThrottle } from './auth-throttle.ts';
import type { Cors } from './cors.ts';
import { requestIdOf } from './request-id.ts';
import type { SessionFront } from './session-routes.ts';
import { operationSignal, readJsonBodyWithin } from './timeouts.ts';

export interface HttpFrontOptions {
  config: Pick<GatewayConfig, 'limits' | 'auth' | 'server' | 'admission'>;
  apollo: ApolloServer<GatewayContext>;
  authenticator: Authenticator;
  /** The public identity key set, served at /.well-known/jwks.json. */
  jwks: object;
  /** True once the gateway is draining: /readyz answers 503 so load balancers stop sending traffic. */
  draining: () => boolean;
  log: Logger;
  /** Called once the request's context is built (the access log reads its principal). */
  onContext?: (req: IncomingMessage, context: GatewayContext) => void;
  /** The request's trace id, for the audit line of its authentication (gateway/observability/requests.ts). */
  traceIdOf?: (req: IncomingMessage) => string | undefined;
  /** The admission control (docs/overload.md): server.ts makes it, and stops it on close. */
  admission: Admission;
  /** CORS for browser apps on other origins; undefined: off. */
  cors?: Cors | undefined;
  /** Cookie sessions (`/auth/*` and the session credential); undefined: off. */
  sessions?: SessionFront | undefined;
  /** The failed-authentication throttle (`rateLimit.failedAuth`, ./auth-throttle.ts); undefined: off. */
  authThrottle?: AuthThrottle | undefined;
}

const GRAPHQL_PATHS = new Set(['/graphql', '/']);

export function createHttpFront(options: HttpFrontOptions): RequestListener {
  const { config, apollo, authenticator, log } = options;
  const jwksBody = JSON.stringify(options.jwks);
  const { bodyBytes, batchedOperations } = config.limits;
  const { admission } = options;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = parseRequestTarget(req.url);
    if (!target) return sendError(res, 'BAD_REQUEST', 'Malformed request target');
    if (options.cors?.handle(req, res)) return;
    if (req.method === 'GET') {
      if (target.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (target.pathname === '/readyz') return options.draining() ? sendJson(res, 503, { status: 'draining' }) : sendJson(res, 200, { status: 'ready' });
      if (target.pathname === '/.well-known/jwks.json') {
        res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=60' });
        res.end(jwksBody);
        return;
      }
    }
    const sessionRoute = options.sessions !== undefined && target.pathname.startsWith('/auth/');
    if (!GRAPHQL_PATHS.has(target.pathname) && !sessionRoute) return sendError(res, 'NOT_FOUND');

    const requestId = requestIdOf(req.headers);
    res.setHeader('x-request-id', requestId);
    const requestLog = log.child({ requestId });
    if (sessionRoute) return options.sessions!.route(req, res, target, requestLog);
    if (req.method !== 'POST') return sendError(res, 'METHOD_NOT_ALLOWED', 'Only POST is accepted', { allow: 'POST' });
    // JSON only: also what makes a cross-site form post impossible (with Apollo's CSRF preflight rule).
    if (!isJsonContentType(req.headers['content-type'])) return refuseUnread(req, res, () => sendError(res, 'UNSUPPORTED_MEDIA_TYPE'));

    // Admitted before any authentication work, or 503 OVERLOADED (docs/overload.md).
    const release = await admission.admit(res);
    const operation: { context?: GatewayContext } = {};
    if (!release) return refuseUnread(req, res, () => admission.refuse(res));
    try {
      await handleOperation(req, res, target, requestId, requestLog, operation);
    } finally {
      release({ subgraphFailed: operation.context?.outcome?.subgraphFailed === true });
    }
  };

  const handleOperation = async (
    req: IncomingMessage,
    res: ServerResponse,
    target: RequestTarget,
    requestId: string,
    requestLog: Logger,
    operation: { context?: GatewayContext },
  ): Promise<void> => {
    const signal = operationSignal(res, config.server.deadlineMs);
    // A caller over its failed authentications is refused before any verification work.
    const throttled = options.authThrottle?.throttled(req);
    if (throttled) return refuseUnread(req, res, () => sendError(res, 'RATE_LIMITED', undefined, throttled));
    let principal: Principal;
    try {
      // A session cookie is one credential of the chain (gateway/auth/methods/session.ts), looked up only
      // once it is the request's only one.
      const session = options.sessions?.credential(req, res);
      const traceId = options.traceIdOf?.(req);
      principal = await authenticator.authenticate({ rawHeaders: req.rawHeaders, search: target.search, socket: req.socket, requestId, ...(traceId ? { traceId } : {}), ...(session ? { session } : {}) });
    } catch (error) {
      // The refusal's reason goes to the audit stream (gateway/observability/auth.ts), never to the client.
      const authError = error instanceof AuthError ? error : AuthError.unavailable('unexpected authentication failure', error);
      await options.authThrottle?.failed(req, authError);
      const { status, headers, error: graphQLError } = authErrorResponse(authError, config.auth.realm);
      return refuseUnread(req, res, () => sendJson(res, status, { errors: [graphQLError.toJSON()] }, headers));
    }

    const body = await readJsonBodyWithin(req, res, bodyBytes, config.server.bodyTimeoutMs);
    if (body === ANSWERED) return;
    if (Array.isArray(body)) {
      if (batchedOperations === 0) return sendError(res, 'BAD_REQUEST', 'Batched requests are not accepted');
      if (body.length === 0 || body.length > batchedOperations) return sendError(res, 'BAD_REQUEST', `A batch holds 1 to ${batchedOperations} operations`);
    }

    const context: GatewayContext = { requestId, principal, log: requestLog, signal, clientAddress: req.socket.remoteAddress, outcome: { subgraphFailed: false } };
    operation.context = context;
    options.onContext?.(req, context);
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers: toHeaderMap(req), search: target.search, body },
      context: async () => context,
    });
    await writeResponse(res, response);
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error('unhandled request error', { error });
      if (!res.headersSent) sendError(res, 'INTERNAL_SERVER_ERROR');
      else res.destroy();
    });
  };
}

/**
 * A refused request's body up to this size is read and dropped by Node after the answer, and the
 * connection kept: a client refused under load (503) sends its next request on the same connection
 * instead of paying for a new one, and the gateway pays a few kilobytes instead of an accept and a
 * handshake. A GraphQL request is usually far smaller.
 */
export const DISCARDED_BODY_BYTES = 16 * 1024;

/**
 * Answers before the body is read. A body of unknown length (chunked) or over DISCARDED_BODY_BYTES
 * closes the connection, so a refused request costs no body bytes (docs/architecture.md "Decisions");
 * a smaller one is dropped by Node after the answer, keeping the connection alive.
 */
function refuseUnread(req: IncomingMessage, res: ServerResponse, answer: () => void): void {
  const declared = req.headers['transfer-encoding'] === undefined ? Number(req.headers['content-length'] ?? 0) : Number.POSITIVE_INFINITY;
  if (!req.complete && !(declared <= DISCARDED_BODY_BYTES)) res.setHeader('connection', 'close');
  answer();
}
