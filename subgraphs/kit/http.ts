/**
 * A minimal node:http integration for a subgraph's Apollo Server: POST /graphql (JSON only) and
 * GET /healthz. Teams on Express or Fastify use their own integration and call the context factory
 * from its context function instead; see docs/subgraph-guide.md.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ApolloServer, BaseContext } from '@apollo/server';
import type { ContextRequest } from './context.ts';
import { ANSWERED, isJsonContentType, parseRequestTarget, readJsonBody, sendError, sendJson, toHeaderMap, writeResponse } from './node-http.ts';
import { withServerSpan } from './telemetry.ts';

export interface SubgraphHandlerOptions<Context extends BaseContext> {
  server: ApolloServer<Context>;
  context: (request: ContextRequest) => Promise<Context>;
  /** GraphQL endpoint path. Default is /graphql. */
  path?: string;
  /** Largest accepted request body, in bytes. Default is 1048576 (1 MiB). */
  maxBodyBytes?: number;
}

export function createSubgraphHandler<Context extends BaseContext>(options: SubgraphHandlerOptions<Context>): RequestListener {
  const path = options.path ?? '/graphql';
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  return (req, res) => {
    // POSTs continue the gateway's trace (a no-op without OpenTelemetry); health checks make no span.
    const handled =
      req.method === 'POST'
        ? withServerSpan(`POST ${path}`, req.headers, { 'http.request.method': 'POST', 'http.route': path, 'server.port': req.socket.localPort ?? 0 }, (end) => {
            res.once('close', () => end(res.statusCode));
            return handle(req, res);
          })
        : handle(req, res);
    handled.catch((error: unknown) => {
      // Apollo answers GraphQL errors itself; this is a bug or a dropped connection. Never leak it.
      if (!res.headersSent) sendError(res, 'INTERNAL_SERVER_ERROR');
      else res.destroy(error as Error);
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = parseRequestTarget(req.url);
    if (!target) return sendError(res, 'BAD_REQUEST', 'Malformed request target');
    if (target.pathname === '/healthz' && req.method === 'GET') return sendJson(res, 200, { status: 'ok' });
    if (target.pathname !== path) return sendError(res, 'NOT_FOUND');
    if (req.method !== 'POST') return sendError(res, 'METHOD_NOT_ALLOWED', 'Only POST is accepted', { allow: 'POST' });
    if (!isJsonContentType(req.headers['content-type'])) return sendError(res, 'UNSUPPORTED_MEDIA_TYPE');
    const body = await readJsonBody(req, res, maxBodyBytes);
    if (body === ANSWERED) return;
    const headers = toHeaderMap(req);
    const response = await options.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: target.search, body },
      context: () => options.context({ headers, body }),
    });
    await writeResponse(res, response);
  }
}
