/**
 * `POST /auth/backchannel-logout` (OpenID Connect Back-Channel Logout 1.0, docs/fleet.md "Revocation"):
 * the provider posts `logout_token` (form-encoded, §2.5); a valid one revokes, across the fleet, the
 * provider session it names (`sid`) or, without one, the subject's sessions and credentials issued
 * until now (`sub`). §2.8: 200 on success, 400 with `{"error":"invalid_request"}` otherwise, and
 * `Cache-Control: no-store` either way. The body also carries the catalogue's BAD_REQUEST, like every
 * other refusal of the gateway. Called server to server: no cookie, Origin or CSRF header is involved.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendError, sendJson } from '@frontdesk/kit/node-http';
import { AUTH_RETRY_AFTER_SECONDS, ERROR_CATALOGUE, errorBody } from '../errors.ts';
import type { Logger } from '../log.ts';
import { subjectId } from '../revocation/list.ts';
import type { Revocations } from '../revocation/revocations.ts';
import { LogoutTokenError, MAX_LOGOUT_TOKEN_BYTES, type LogoutRequest } from '../session/logout-token.ts';

const NO_STORE = { 'cache-control': 'no-store' };

export interface BackchannelLogoutOptions {
  verify: (token: string) => Promise<LogoutRequest>;
  revocations: Pick<Revocations, 'revoke'>;
  /** The `auth.jwt` principal namespace of the sessions' issuer: a `sub` is revoked as `<namespace>:<sub>`. */
  principalNamespace: string;
}

export function createBackchannelLogout(options: BackchannelLogoutOptions) {
  const refuse = (res: ServerResponse, log: Logger, reason: string): void => {
    log.info('back-channel logout refused', { reason });
    sendJson(res, 400, { error: 'invalid_request', error_description: ERROR_CATALOGUE.BAD_REQUEST.message, ...errorBody('BAD_REQUEST') }, NO_STORE);
  };
  return async (req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> => {
    const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      req.resume();
      return refuse(res, log, `content type ${JSON.stringify(type ?? null).slice(0, 60)}`);
    }
    const body = await readBody(req, MAX_LOGOUT_TOKEN_BYTES + 1_024);
    if (body === undefined) return refuse(res, log, 'body too large');
    const tokens = new URLSearchParams(body).getAll('logout_token');
    if (tokens.length !== 1) return refuse(res, log, `${tokens.length} logout_token parameters`);
    let request: LogoutRequest;
    try {
      request = await options.verify(tokens[0] as string);
    } catch (error) {
      return refuse(res, log, error instanceof LogoutTokenError ? error.message : `unexpected: ${(error as Error).message}`);
    }
    // §2.7: a sid names one provider session; without one, every session of the subject ends.
    const { entry, result } = request.sid !== undefined
      ? await options.revocations.revoke('sid', request.sid)
      : await options.revocations.revoke('sub', subjectId(options.principalNamespace, request.sub as string));
    if (result === 'full') {
      log.error('back-channel logout not applied: revocation list full', { kind: entry.kind });
      return sendError(res, 'AUTH_UNAVAILABLE', undefined, { 'retry-after': String(AUTH_RETRY_AFTER_SECONDS), ...NO_STORE });
    }
    log.info('back-channel logout', { kind: entry.kind });
    res.writeHead(200, NO_STORE).end();
  };
}
