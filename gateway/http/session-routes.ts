/**
 * The session routes (docs/browser.md) and the session credential of GraphQL requests:
 *
 *   GET  /auth/login?returnTo=<url on an app origin>  → 302 to the provider (code + PKCE, state, nonce)
 *   GET  /auth/callback                               → 303 back to returnTo with the session cookie
 *   POST /auth/logout   (Origin + x-frontdesk-csrf)   → {"signedOut":true,"logoutUrl":…} (RP-initiated logout)
 *   GET  /auth/session                                → {"signedIn":…,"subject":…,"name":…,"endsAt":…}
 *   POST /auth/backchannel-logout  (logout_token)     → 200, or 400 invalid_request (./backchannel-logout.ts)
 *
 * Every refusal is from the catalogue: a bad sign-in is 400 BAD_REQUEST (nobody is signed in), an
 * unreachable provider 503 AUTH_UNAVAILABLE, a refused cookie 401 UNAUTHENTICATED.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError, sendJson } from '@frontdesk/kit/node-http';
import type { SessionCredential } from '../auth/method.ts';
import { sessionAppOrigins } from '../config/table/browser.ts';
import type { GatewayConfig } from '../config/types.ts';
import { AUTH_RETRY_AFTER_SECONDS, AuthError, authErrorResponse } from '../errors.ts';
import type { Logger } from '../log.ts';
import { LoginError, type Sessions } from '../session/sessions.ts';
import { allowedReturnTo } from './return-to.ts';
import { clearCookie, cookieValues, requireSameApp, sessionIdOf, setCookie } from './session-cookies.ts';

export interface SessionFront {
  /** Answers `/auth/*` (the caller checked the prefix). */
  route(req: IncomingMessage, res: ServerResponse, target: { pathname: string; search: string }, log: Logger): Promise<void>;
  /**
   * For a GraphQL request with the session cookie: the session as a credential of the chain
   * (gateway/auth/methods/session.ts) — its cookie rules checked when the chain extracts it, its access
   * token looked up (refreshed when due) only when the chain verifies it, the cookie of an ended session
   * cleared then. Without the cookie, undefined.
   */
  credential(req: IncomingMessage, res: ServerResponse): SessionCredential | undefined;
}

const NO_STORE = { 'cache-control': 'no-store' };

export function createSessionFront(
  config: Pick<GatewayConfig, 'sessions' | 'cors' | 'auth'>,
  sessions: Sessions,
  /** `POST /auth/backchannel-logout` (./backchannel-logout.ts); absent: that route is a 404. */
  backchannelLogout?: (req: IncomingMessage, res: ServerResponse, log: Logger) => Promise<void>,
): SessionFront {
  const settings = config.sessions;
  if (!settings) throw new TypeError('createSessionFront needs sessions configured');
  const cookie = settings.cookieName;
  const loginCookie = `${cookie}-login`;
  const apps = sessionAppOrigins(config);
  const appSet = new Set(apps);

  const refuse = (res: ServerResponse, error: AuthError): void => {
    const { status, headers, error: graphQLError } = authErrorResponse(error, config.auth.realm);
    sendJson(res, status, { errors: [graphQLError.toJSON()] }, { ...headers, ...NO_STORE });
  };
  const loginFailed = (res: ServerResponse, error: unknown, log: Logger): void => {
    const failure = error instanceof LoginError ? error : new LoginError('unavailable', String(error));
    log[failure.kind === 'unavailable' ? 'warn' : 'info']('sign-in failed', { reason: failure.message });
    if (failure.kind === 'unavailable') return sendError(res, 'AUTH_UNAVAILABLE', undefined, { 'retry-after': String(AUTH_RETRY_AFTER_SECONDS), ...NO_STORE });
    sendError(res, 'BAD_REQUEST', 'Sign-in could not be completed; start again', NO_STORE);
  };

  const routes: Record<string, { method: 'GET' | 'POST'; handle: (req: IncomingMessage, res: ServerResponse, search: string, log: Logger) => Promise<void> }> = {
    '/auth/login': {
      method: 'GET',
      async handle(_req, res, search, log) {
        const returnTo = allowedReturnTo(new URLSearchParams(search).get('returnTo'), apps);
        if (returnTo === undefined) return sendError(res, 'BAD_REQUEST', "returnTo must be a URL on one of the app's origins", NO_STORE);
        try {
          const { loginId, authorizationUrl } = await sessions.startLogin(returnTo);
          setCookie(res, loginCookie, loginId, { maxAgeSeconds: settings.loginTimeoutMs / 1000 });
          res.writeHead(302, { location: authorizationUrl.href, ...NO_STORE });
          res.end();
        } catch (error) {
          loginFailed(res, error, log);
        }
      },
    },
    '/auth/callback': {
      method: 'GET',
      async handle(req, res, search, log) {
        const loginIds = cookieValues(req, loginCookie);
        clearCookie(res, loginCookie);
        // The callback URL is the configured one with the query the browser brought, never built from Host.
        const callback = new URL(settings.redirectUri);
        callback.search = search;
        try {
          const { sessionId, returnTo } = await sessions.completeLogin(loginIds.length === 1 ? loginIds[0] : undefined, callback);
          // A sign-in always gets a fresh id (no session fixation); a session the browser still had ends.
          for (const previous of cookieValues(req, cookie)) await sessions.end(previous);
          setCookie(res, cookie, sessionId, { maxAgeSeconds: settings.maxAgeMs / 1000 });
          res.writeHead(303, { location: returnTo, ...NO_STORE });
          res.end();
        } catch (error) {
          loginFailed(res, error, log);
        }
      },
    },
    '/auth/logout': {
      method: 'POST',
      async handle(req, res, _search, log) {
        try {
          requireSameApp(req, appSet);
        } catch (error) {
          log.info('sign-out refused', { reason: (error as AuthError).reason });
          return refuse(res, error as AuthError);
        }
        let logoutUrl: URL | undefined;
        for (const sessionId of cookieValues(req, cookie)) logoutUrl = await sessions.end(sessionId);
        clearCookie(res, cookie);
        sendJson(res, 200, { signedOut: true, logoutUrl: logoutUrl?.href ?? null }, NO_STORE);
      },
    },
    ...(backchannelLogout ? { '/auth/backchannel-logout': { method: 'POST' as const, handle: (req: IncomingMessage, res: ServerResponse, _search: string, log: Logger) => backchannelLogout(req, res, log) } } : {}),
    '/auth/session': {
      method: 'GET',
      async handle(req, res) {
        let sessionId: string | undefined;
        try {
          sessionId = sessionIdOf(req, cookie);
        } catch {
          sessionId = undefined;
        }
        const current = sessionId === undefined ? undefined : await sessions.describe(sessionId);
        if (!current) {
          if (cookieValues(req, cookie).length > 0) clearCookie(res, cookie);
          return sendJson(res, 200, { signedIn: false }, NO_STORE);
        }
        sendJson(res, 200, { signedIn: true, subject: current.subject, name: current.name ?? null, endsAt: new Date(current.endsAt).toISOString() }, NO_STORE);
      },
    },
  };

  return {
    async route(req, res, { pathname, search }, log) {
      const route = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
      if (!route) return sendError(res, 'NOT_FOUND');
      if (req.method !== route.method) return sendError(res, 'METHOD_NOT_ALLOWED', `Only ${route.method} is accepted`, { allow: route.method });
      try {
        await route.handle(req, res, search, log);
      } catch (error) {
        // The session store failed (a shared store that is away, docs/fleet.md "Shared sessions"): retry later, never "signed out".
        log.warn('session route failed: session store unavailable', { pathname, error: (error as Error).message });
        if (!res.headersSent) sendError(res, 'AUTH_UNAVAILABLE', undefined, { 'retry-after': String(AUTH_RETRY_AFTER_SECONDS), ...NO_STORE });
      }
    },

    credential(req, res) {
      if (cookieValues(req, cookie).length === 0) return undefined;
      return {
        // At extraction, before any lookup: from an app origin, with the CSRF header. That the cookie is the
        // request's only credential is the chain's rule (gateway/auth/authenticate.ts), also before any lookup.
        check: () => requireSameApp(req, appSet),
        async accessToken() {
          try {
            return await sessions.accessToken(sessionIdOf(req, cookie) as string);
          } catch (error) {
            if (error instanceof AuthError && error.clientReason === 'session_ended') clearCookie(res, cookie);
            throw error;
          }
        },
      };
    },
  };
}
