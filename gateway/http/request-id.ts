/**
 * The request id that ties a client's answer to the gateway's and the subgraphs' log lines.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A client's id is kept only when it is a short, log-safe token. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const LISTED_IN_CONNECTION = /(^|,)\s*x-request-id\s*(,|$)/i;

/**
 * The client's `x-request-id` when it is a safe token and not declared hop-by-hop (named in
 * `Connection`, RFC 9110 §7.6.1), else a fresh UUID.
 */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const incoming = headers['x-request-id'];
  if (typeof incoming !== 'string' || !SAFE_REQUEST_ID.test(incoming)) return randomUUID();
  return LISTED_IN_CONNECTION.test(headers.connection ?? '') ? randomUUID() : incoming;
}
