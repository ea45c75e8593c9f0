/**
 * CORS (Fetch standard, "CORS protocol"), answered by the HTTP front before routing and authentication:
 * a preflight never needs credentials, and an error answer must still be readable by an allowed app.
 *
 * - Origins match exactly (the configured list, or `*` without credentials — refused at boot with them).
 * - `Vary: Origin` on every response, so no cache serves one origin's answer to another.
 * - Another origin gets no `Access-Control-Allow-*` header at all; its browser then blocks the response.
 * - A preflight asking for a method or a header not allowed gets none either (204, nothing granted).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsConfig } from '../config/types.ts';

const ALLOWED_METHODS = ['GET', 'POST'];

export interface Cors {
  /** Adds the CORS headers this request earns; answers it when it is a preflight. True when answered. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

/** undefined when CORS is off (no `cors.origins`). */
export function createCors(config: CorsConfig): Cors | undefined {
  if (config.origins.length === 0) return undefined;
  const anyOrigin = config.origins.includes('*');
  const origins = new Set(config.origins);
  const allowHeaders = new Set(config.allowHeaders);
  const preflightHeaders: Record<string, string> = {
    'access-control-allow-methods': ALLOWED_METHODS.join(', '),
    'access-control-allow-headers': config.allowHeaders.join(', '),
    'access-control-max-age': String(Math.floor(config.maxAgeMs / 1000)),
  };
  const exposed = config.exposeHeaders.join(', ');

  /** The value of Access-Control-Allow-Origin for this Origin, or undefined when it is not allowed. */
  const allowOrigin = (origin: string | undefined): string | undefined => {
    if (origin === undefined) return undefined;
    if (anyOrigin) return '*';
    return origins.has(origin) ? origin : undefined;
  };

  return {
    handle(req, res) {
      const origin = req.headers.origin;
      const requestedMethod = req.headers['access-control-request-method'];
      const preflight = req.method === 'OPTIONS' && origin !== undefined && requestedMethod !== undefined;
      if (!preflight) {
        res.setHeader('vary', 'Origin');
        const allowed = allowOrigin(origin);
        if (allowed === undefined) return false;
        res.setHeader('access-control-allow-origin', allowed);
        if (config.credentials) res.setHeader('access-control-allow-credentials', 'true');
        if (exposed) res.setHeader('access-control-expose-headers', exposed);
        return false;
      }

      const headers: Record<string, string> = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers', 'content-length': '0' };
      const allowed = allowOrigin(origin);
      const requestedHeaders = (req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((name) => name.trim().toLowerCase())
        .filter((name) => name.length > 0);
      if (allowed !== undefined && ALLOWED_METHODS.includes(requestedMethod) && requestedHeaders.every((name) => allowHeaders.has(name))) {
        Object.assign(headers, preflightHeaders, { 'access-control-allow-origin': allowed });
        if (config.credentials) headers['access-control-allow-credentials'] = 'true';
      }
      res.writeHead(204, headers);
      res.end();
      return true;
    },
  };
}
