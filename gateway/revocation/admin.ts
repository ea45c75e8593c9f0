/**
 * The admin endpoint of revocations, on the metrics listener only (gateway/observability/metrics-listener.ts),
 * never on the public one:
 *
 *   POST /admin/revocations   Authorization: Bearer <admin.token>   {"kind":"sub|jti|api-key|sid","id":"…"}
 *     → 200 {"revoked":{"kind","id","at","until"},"shared":true|false}   (shared: Redis took it now)
 *
 * The token is compared in constant time (SHA-256 of both sides, timingSafeEqual). Refusals come from the
 * catalogue: 401 UNAUTHENTICATED (RFC 6750 §3 challenge), 400 BAD_REQUEST, 404, 405, 413, 415, and 503
 * when the list is full.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendError, sendJson } from '@frontdesk/kit/node-http';
import type { Logger } from '../log.ts';
import { isRevocationId, REVOCATION_KINDS, revocationJson, type RevocationKind } from './list.ts';
import type { Revocations } from './revocations.ts';

const MAX_BODY_BYTES = 4_096;
const NO_STORE = { 'cache-control': 'no-store' };

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export function createAdminHandler(token: string, revocations: Pick<Revocations, 'revoke'>, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const expected = digest(token);
  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization;
    const presented = header?.startsWith('Bearer ') ? header.slice(7) : '';
    // Equal-length digests: the compare takes the same time whatever was sent.
    return timingSafeEqual(digest(presented), expected) && presented.length > 0;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url?.split('?')[0];
    if (path !== '/admin/revocations') return sendError(res, 'NOT_FOUND', undefined, NO_STORE);
    if (!authorized(req)) {
      req.resume();
      log.warn('admin request refused: bad or missing admin token', { path });
      return sendError(res, 'UNAUTHENTICATED', undefined, { 'www-authenticate': 'Bearer realm="frontdesk-admin"', ...NO_STORE });
    }
    if (req.method !== 'POST') return sendError(res, 'METHOD_NOT_ALLOWED', 'Only POST is accepted', { allow: 'POST', ...NO_STORE });
    if (req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== 'application/json') {
      req.resume();
      return sendError(res, 'UNSUPPORTED_MEDIA_TYPE', undefined, NO_STORE);
    }
    const text = await readBody(req, MAX_BODY_BYTES);
    if (text === undefined) return sendError(res, 'PAYLOAD_TOO_LARGE', undefined, NO_STORE);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const { kind, id } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (!REVOCATION_KINDS.includes(kind as RevocationKind) || !isRevocationId(id)) {
      return sendError(res, 'BAD_REQUEST', `Send {"kind": one of ${REVOCATION_KINDS.join(', ')}, "id": a string of 1-512 characters}`, NO_STORE);
    }
    const { entry, result, shared } = await revocations.revoke(kind as RevocationKind, id);
    if (result === 'full') return sendError(res, 'AUTH_UNAVAILABLE', 'The revocation list is full', NO_STORE);
    sendJson(res, 200, { revoked: JSON.parse(revocationJson(entry)) as unknown, shared }, NO_STORE);
  };
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error('admin request failed', { err: error });
      if (!res.headersSent) sendError(res, 'INTERNAL_SERVER_ERROR', undefined, NO_STORE);
    });
  };
}
