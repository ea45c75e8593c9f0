/**
 * A minimal node:http integration for a subgraph's Apollo Server: POST /graphql (JSON only) and
 * GET /healthz. Teams on Express or Fastify use their own integration and call the context factory
 * from its context function instead; see docs/subgraph-guide.md.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLResponse } from '@apollo/server';
import type { ContextRequest } from './context.ts';

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
    handle(req, res).catch((error: unknown) => {
      // Apollo answers GraphQL errors itself; this is a bug or a dropped connection. Never leak it.
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy(error as Error);
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://subgraph');
    if (url.pathname === '/healthz' && req.method === 'GET') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname !== path) return sendJson(res, 404, { errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendJson(res, 405, { errors: [{ message: 'Only POST is accepted', extensions: { code: 'METHOD_NOT_ALLOWED' } }] });
    }
    const raw = await readBody(req, maxBodyBytes);
    if (raw === undefined) return sendJson(res, 413, { errors: [{ message: 'Request body too large', extensions: { code: 'BAD_REQUEST' } }] });
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendJson(res, 400, { errors: [{ message: 'Body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
    }
    const headers = toHeaderMap(req);
    const response = await options.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: url.search, body },
      context: () => options.context({ headers, body }),
    });
    await writeResponse(res, response);
  }
}

/** Node's request headers as Apollo Server's HeaderMap (repeated headers joined with ", "). */
export function toHeaderMap(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** Writes Apollo Server's HTTP response (complete or chunked) to a node:http response. */
export async function writeResponse(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  res.statusCode = response.status ?? 200;
  for (const [name, value] of response.headers) res.setHeader(name, value);
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/**
 * Reads the body as UTF-8; undefined when it exceeds maxBytes. Past the limit the rest is drained and
 * dropped rather than the socket destroyed, so the caller can still answer 413.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
