/**
 * Timeouts at every stage of a client request (docs/overload.md): the head (`server.headersTimeout`), the
 * whole request (`server.requestTimeout`), the body once the gateway reads it (`server.bodyTimeout`), the
 * idle keep-alive connection (`server.keepAliveTimeout`), and the operation's deadline
 * (`server.deadline`), which ends the subgraph fetches still running — as does the client leaving. Slow
 * clients get 408 REQUEST_TIMEOUT and lose their connection; they cannot hold the gateway's sockets.
 */
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ANSWERED, answerClientError, readBody, sendError } from '@frontdesk/kit/node-http';
import { ERROR_CATALOGUE, errorBody } from '@frontdesk/kit/catalogue';
import type { ServerConfig } from '../config/types.ts';

/** Node's HTTP server options for the client-facing timeouts and limits. */
export function httpServerOptions(server: ServerConfig): ServerOptions {
  return {
    keepAliveTimeout: server.keepAliveTimeoutMs,
    requestTimeout: server.requestTimeoutMs,
    headersTimeout: server.headersTimeoutMs,
    maxHeaderSize: server.maxHeaderBytes,
    // Node checks headersTimeout and requestTimeout only every connectionsCheckingInterval (default 30 s):
    // a 10 s headersTimeout would let a slowloris socket live 40 s. Each check walks the open connections.
    connectionsCheckingInterval: 1_000,
  };
}

/**
 * The server's `clientError` listener: a request whose head or whole body did not arrive in time gets
 * 408 REQUEST_TIMEOUT (Node would answer a bare 408; `answerClientError` a 400) and its connection is
 * closed, both directions — a half-closed socket would stay open for as long as the client keeps
 * sending. Every other client error goes to the kit's `answerClientError`.
 */
export function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code !== 'ERR_HTTP_REQUEST_TIMEOUT') return answerClientError(error, socket);
  // Node's own rule (lib/_http_server.js socketOnError): no answer once a response has begun on it.
  const response = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (!socket.writable || response?.headersSent) return void socket.destroy();
  const body = JSON.stringify(errorBody('REQUEST_TIMEOUT'));
  socket.end(`HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`, () =>
    socket.destroy(),
  );
}

/** Why an operation's signal aborted. */
export class RequestEnded extends Error {
  readonly reason: 'deadline' | 'client gone';
  constructor(reason: RequestEnded['reason']) {
    super(reason === 'deadline' ? 'server.deadline passed' : 'the client disconnected');
    this.name = 'RequestEnded';
    this.reason = reason;
  }
}

/**
 * The signal of one operation (GatewayContext.signal): it aborts when `deadlineMs` has passed or when
 * the client's connection closes before the answer was sent, and every subgraph fetch of the operation
 * listens to it. A timer and a listener, both gone when the response closes.
 */
export function operationSignal(res: ServerResponse, deadlineMs: number): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new RequestEnded('deadline')), deadlineMs);
  res.once('close', () => {
    clearTimeout(timer);
    if (!res.writableFinished) controller.abort(new RequestEnded('client gone'));
  });
  return controller.signal;
}

const TIMED_OUT = Symbol('timed out');

/**
 * The kit's `readJsonBody` with a time limit: a body not complete within `timeoutMs` is answered 408
 * REQUEST_TIMEOUT and its connection closed (the rest is never read). Returns ANSWERED when it answered
 * (408, 413, 400), else the parsed body.
 */
export async function readJsonBodyWithin(req: IncomingMessage, res: ServerResponse, maxBytes: number, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(resolve, timeoutMs, TIMED_OUT)));
  let raw: string | undefined | typeof TIMED_OUT;
  try {
    raw = await Promise.race([readBody(req, maxBytes), timedOut]);
  } finally {
    clearTimeout(timer);
  }
  if (raw === TIMED_OUT) {
    sendError(res, 'REQUEST_TIMEOUT', ERROR_CATALOGUE.REQUEST_TIMEOUT.message, { connection: 'close' });
    return ANSWERED;
  }
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
