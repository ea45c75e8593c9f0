/**
 * The failed-authentication throttle at the HTTP front (docs/fleet.md "Rate limits"), so guessing API
 * keys and tokens is slow. Before any verification work, a client address (IPv6: its /64) or an
 * API key id that has failed `rateLimit.failedAuth.perAddress` / `perApiKey` times in the window gets 429
 * RATE_LIMITED with `Retry-After` — decided in this process, with no I/O, so the check costs nothing on the
 * hot path. Each refused credential then counts one failure for both, in the shared store.
 *
 * The API key id is read without verification: the public `<id>` of `fd_<id>_<secret>` (the format of
 * gateway/auth/api-keys/store.ts) in the API key header or the Bearer token, so one key id's guesses are
 * throttled from whatever address they come.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthError } from '../errors.ts';
import { limitField, policyField, resetSeconds } from '../rate-limit/headers.ts';
import type { FailedAuthThrottle } from '../rate-limit/limiter.ts';

/** The public id of anything shaped like an API key, secret well-formed or not. */
const KEY_ID = /^(?:Bearer[ \t]+)?fd_([0-9a-f]{16})_/i;

export interface AuthThrottle {
  /** When the caller is over its failures: the headers of its 429 RATE_LIMITED; else undefined. */
  throttled(req: IncomingMessage): Record<string, string> | undefined;
  /** After a refused credential: counts the failure. Never throws. */
  failed(req: IncomingMessage, error: AuthError): Promise<void>;
}

export function createAuthThrottle(throttle: FailedAuthThrottle, apiKeyHeader: string | undefined): AuthThrottle {
  const keyIdOf = (req: IncomingMessage): string | undefined => {
    if (apiKeyHeader === undefined) return undefined;
    for (const value of [req.headers[apiKeyHeader], req.headers.authorization]) {
      const text = Array.isArray(value) ? value[0] : value;
      const id = text === undefined ? undefined : KEY_ID.exec(text.trim())?.[1];
      if (id !== undefined) return id.toLowerCase();
    }
    return undefined;
  };
  return {
    throttled(req) {
      const throttled = throttle.check(req.socket.remoteAddress, keyIdOf(req));
      if (!throttled) return undefined;
      return {
        'retry-after': String(resetSeconds(throttled.resetMs)),
        'ratelimit-policy': policyField(throttled.rule, throttled.budget, throttled.windowSeconds),
        ratelimit: limitField(throttled.rule, 0, throttled.resetMs),
      };
    },
    async failed(req, error) {
      // A refused credential; not a missing one (no guess), nor an unavailable verifier (503).
      if (error.code !== 'UNAUTHENTICATED' || error.bearerError === undefined) return;
      await throttle.failed(req.socket.remoteAddress, keyIdOf(req));
    },
  };
}
