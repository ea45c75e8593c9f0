/**
 * node:http helpers shared by the kit's subgraph handler, the gateway's HTTP front and the dev issuer
 * (`@frontdesk/kit/node-http`, a named shared module: docs/architecture.md). Errors are answered from the
 * shared catalogue only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HeaderMap, type HTTPGraphQLResponse } from '@apollo/server';
import { ERROR_CATALOGUE, errorBody, type ErrorCode } from './catalogue.ts';

/** The path and query of a request, or undefined when the request target is malformed. */
export interface RequestTarget {
  pathname: string;
  /** The query string with its leading `?`, or ''. */
  search: string;
}

/**
 * Parses a request target. Origin-form (`/graphql?x=1`) is what clients send; absolute-form
 * (`http://host/graphql`) a server must accept (RFC 9112 §3.2.2) and only its path and query are used —
 * never its host. Anything else (authority-form, `*`, `//host`, a backslash, a broken percent-escape, what
 * the URL parser refuses) is undefined, which callers answer 400.
 */
export function parseRequestTarget(target: string | undefined): RequestTarget | undefined {
  if (target === undefined || target.length === 0) return undefined;
  // A `%` must start an escape of two hex digits (RFC 3986 §2.1) anywhere in the target. A backslash is
  // no URI character at all (RFC 3986 §2), and the URL parser would read it as `/`: `/\host/graphql`
  // would route to /graphql, a path confusion for whatever filters by path in front of us.
  if (/%(?![0-9A-Fa-f]{2})/.test(target) || target.includes('\\')) return undefined;
  const originForm = target.startsWith('/') && !target.startsWith('//');
  if (!originForm && !/^https?:\/\//i.test(target)) return undefined;
  try {
    const url = new URL(target, 'http://request-target.invalid');
    return { pathname: url.pathname, search: url.search };
  } catch {
    return undefined;
  }
}

/** application/json or application/graphql-response+json, with or without parameters. */
export function isJsonContentType(value: string | undefined): boolean {
  return /^application\/(graphql-response\+)?json\s*(;|$)/i.test(value ?? '');
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

/** No body: the request was answered (413 or 400) and the caller stops. */
export const ANSWERED = Symbol('answered');

/**
 * Reads and parses a JSON body bounded by `maxBytes`. Answers 413 PAYLOAD_TOO_LARGE or 400 BAD_REQUEST
 * itself and returns ANSWERED; otherwise returns the parsed value.
 */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<unknown> {
  const raw = await readBody(req, maxBytes);
  if (raw === undefined) {
    sendError(res, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${maxBytes} bytes`);
    return ANSWERED;
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    sendError(res, 'BAD_REQUEST', 'Request body is not valid JSON');
    return ANSWERED;
  }
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

/** Answers an error of the catalogue: its status, and `{ errors: [{ message, extensions: { code } }] }`. */
export function sendError(res: ServerResponse, code: ErrorCode, message?: string, headers: Record<string, string> = {}): void {
  sendJson(res, ERROR_CATALOGUE[code].status, errorBody(code, message), headers);
}

/**
 * A node:http server's `clientError` listener: requests Node's HTTP parser refuses (headers over its
 * 16 KiB limit, malformed request lines) get a JSON answer from the catalogue rather than a bare status
 * line. `server.on('clientError', answerClientError)`.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const code: ErrorCode = tooLarge ? 'REQUEST_HEADER_FIELDS_TOO_LARGE' : 'BAD_REQUEST';
  const body = JSON.stringify(errorBody(code, tooLarge ? ERROR_CATALOGUE[code].message : 'Malformed HTTP request'));
  const statusLine = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${statusLine}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
