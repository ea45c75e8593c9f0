/**
 * What the HTTP front needs for browser apps, built from the config: CORS and cookie sessions (each
 * undefined when off). Sessions and sign-ins in progress live in the fleet's Redis with `store.redis`
 * (docs/fleet.md "Shared sessions"), else in this process; a store can also be injected. With the
 * revocation list, a revoked session is refused and deleted, and the provider's back-channel logout is
 * served (./backchannel-logout.ts).
 */
import type { JWTVerifyGetKey } from 'jose';
import { principalId } from '@frontdesk/kit/contract';
import type { GatewayConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { Revocations } from '../revocation/revocations.ts';
import { createLogoutTokenVerifier } from '../session/logout-token.ts';
import { createSessionProvider } from '../session/provider.ts';
import { createRedisStore } from '../session/redis-store.ts';
import { createRedisRefreshLock } from '../session/refresh-lock.ts';
import { createSessions } from '../session/sessions.ts';
import { createMemoryStore, type PendingLogin, type PendingLoginStore, type SessionRecord, type SessionStore } from '../session/store.ts';
import type { SharedStore } from '../store/redis.ts';
import { createBackchannelLogout } from './backchannel-logout.ts';
import { createCors, type Cors } from './cors.ts';
import { createSessionFront, type SessionFront } from './session-routes.ts';

export interface BrowserFrontOptions {
  log: Logger;
  now?: () => number;
  /** Where sessions are kept; default Redis with `shared`, else an in-process LRU of `sessions.maxSessions`. */
  sessionStore?: SessionStore;
  /** Where sign-ins in progress are kept; default Redis with `shared`, else an in-process LRU of `sessions.maxPendingLogins`. */
  pendingLoginStore?: PendingLoginStore;
  /** The fleet's Redis (`store.redis`). */
  shared?: SharedStore;
  /** The revocation list, and the sessions issuer's keys (`auth.jwt`) that sign its logout tokens. */
  revocations?: Revocations;
  keyFor?: (issuer: string) => JWTVerifyGetKey | undefined;
}

export function createBrowserFront(config: GatewayConfig, options: BrowserFrontOptions): { cors: Cors | undefined; sessions: SessionFront | undefined } {
  const cors = createCors(config.cors);
  const settings = config.sessions;
  if (!settings) return { cors, sessions: undefined };
  const clock = options.now ? { now: options.now } : {};
  const { shared, revocations } = options;
  // checkSessions makes the sessions issuer an auth.jwt issuer: its namespace names the session's subject.
  const issuer = config.auth.jwt.find((entry) => entry.issuer === settings.issuer);
  const namespace = issuer?.principalNamespace ?? 'local';
  const sessions = createSessions({
    config: settings,
    provider: createSessionProvider(settings),
    store: options.sessionStore ?? (shared ? createRedisStore<SessionRecord>(shared, 'session:') : createMemoryStore({ maxEntries: settings.maxSessions, ...clock })),
    pending: options.pendingLoginStore ?? (shared ? createRedisStore<PendingLogin>(shared, 'login:') : createMemoryStore({ maxEntries: settings.maxPendingLogins, ...clock })),
    log: options.log.child({ room: 'sessions' }),
    ...(shared && !options.sessionStore ? { refreshLock: createRedisRefreshLock(shared) } : {}),
    ...(revocations
      ? { revoked: (record: SessionRecord) => revocations.list.refusal({ principalId: principalId('session', namespace, record.subject), issuedAtMs: record.createdAt, sid: record.sid }) }
      : {}),
    ...clock,
  });
  const getKey = options.keyFor?.(settings.issuer);
  const backchannel =
    revocations && getKey && issuer
      ? createBackchannelLogout({
          verify: createLogoutTokenVerifier({
            issuer: settings.issuer,
            clientId: settings.clientId,
            getKey,
            algorithms: issuer.algorithms,
            clockToleranceMs: issuer.clockToleranceMs,
            ...(shared ? { shared } : {}),
            ...clock,
          }),
          revocations,
          principalNamespace: namespace,
        })
      : undefined;
  return { cors, sessions: createSessionFront(config, sessions, backchannel) };
}
