/**
 * What the HTTP front needs for browser apps, built from the config: CORS and cookie sessions (each
 * undefined when off). The session store is injectable: memory by default, a shared one for a fleet.
 */
import type { GatewayConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { createSessionProvider } from '../session/provider.ts';
import { createSessions } from '../session/sessions.ts';
import { createMemoryStore, type PendingLoginStore, type SessionStore } from '../session/store.ts';
import { createCors, type Cors } from './cors.ts';
import { createSessionFront, type SessionFront } from './session-routes.ts';

export interface BrowserFrontOptions {
  log: Logger;
  now?: () => number;
  /** Where sessions are kept; default an in-process LRU of `sessions.maxSessions`. */
  sessionStore?: SessionStore;
  /** Where sign-ins in progress are kept; default an in-process LRU of `sessions.maxPendingLogins`. */
  pendingLoginStore?: PendingLoginStore;
}

export function createBrowserFront(config: GatewayConfig, options: BrowserFrontOptions): { cors: Cors | undefined; sessions: SessionFront | undefined } {
  const cors = createCors(config.cors);
  const settings = config.sessions;
  if (!settings) return { cors, sessions: undefined };
  const clock = options.now ? { now: options.now } : {};
  const sessions = createSessions({
    config: settings,
    provider: createSessionProvider(settings),
    store: options.sessionStore ?? createMemoryStore({ maxEntries: settings.maxSessions, ...clock }),
    pending: options.pendingLoginStore ?? createMemoryStore({ maxEntries: settings.maxPendingLogins, ...clock }),
    log: options.log.child({ room: 'sessions' }),
    ...clock,
  });
  return { cors, sessions: createSessionFront(config, sessions) };
}
