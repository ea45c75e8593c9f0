/**
 * Backend-for-frontend sessions (OAuth 2.0 for Browser-Based Apps, BFF pattern): the browser holds an
 * opaque random id in a cookie; the provider's tokens stay here. Signing in is authorization code + PKCE
 * with state and nonce, each checked once; the access token is refreshed before it expires, one refresh
 * per session at a time (refresh-token rotation safe); a refused refresh ends the session.
 * Knows nothing of HTTP: the front (gateway/http/session-*.ts) reads and writes the cookies.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { SessionsConfig } from '../config/types.ts';
import { AuthError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ProviderRefusedError, ProviderUnavailableError, type ProviderTokens, type SessionProvider } from './provider.ts';
import { lockedRefresh, type RefreshLock } from './refresh-lock.ts';
import type { PendingLoginStore, SessionRecord, SessionStore } from './store.ts';

/** Why a sign-in did not complete; the client sees a catalogue error, the log sees the reason. */
export class LoginError extends Error {
  override readonly name = 'LoginError';
  constructor(
    readonly kind: 'refused' | 'unavailable',
    reason: string,
  ) {
    super(reason);
  }
}

export interface Sessions {
  /** Starts a sign-in; returns the login id (for the login cookie) and where to send the browser. */
  startLogin(returnTo: string): Promise<{ loginId: string; authorizationUrl: URL }>;
  /** Completes it once; returns the new session id (for the session cookie) and where to go back to. */
  completeLogin(loginId: string | undefined, callback: URL): Promise<{ sessionId: string; returnTo: string }>;
  /** The live access token of a session, refreshed when due; throws AuthError (401 session_ended, 503). */
  accessToken(sessionId: string): Promise<string>;
  /** Who is signed in, without refreshing anything. */
  describe(sessionId: string): Promise<{ subject: string; name: string | undefined; endsAt: number } | undefined>;
  /** Ends a session here; returns the provider's logout URL for the browser, if it has one. */
  end(sessionId: string): Promise<URL | undefined>;
}

export interface SessionsOptions {
  config: SessionsConfig;
  provider: SessionProvider;
  store: SessionStore;
  pending: PendingLoginStore;
  log: Logger;
  now?: () => number;
  /** Why a session is revoked (its sid, or its subject since before it started), or undefined (docs/fleet.md "Revocation"). */
  revoked?: (session: SessionRecord) => string | undefined;
  /** With a shared store: one refresh per session across the fleet (./refresh-lock.ts). */
  refreshLock?: RefreshLock;
}

/** After a refresh failed because the provider was unreachable, the next attempt waits this long. */
const REFRESH_RETRY_MS = 5_000;

/** The store key of a cookie value: its SHA-256, so the store never holds a usable cookie. */
export const storeKey = (cookieValue: string): string => createHash('sha256').update(cookieValue).digest('base64url');

/** 256 bits from the CSPRNG, base64url: an id nobody can guess. */
export const randomId = (): string => randomBytes(32).toString('base64url');

export function createSessions(options: SessionsOptions): Sessions {
  const { config, provider, store, pending, log } = options;
  const now = options.now ?? Date.now;
  // One refresh per session at a time: concurrent requests wait for the same one (refresh tokens rotate, so
  // a second refresh with the old token would fail — and some providers then revoke the whole grant).
  const refreshing = new Map<string, Promise<SessionRecord>>();

  const save = async (key: string, record: SessionRecord): Promise<void> => {
    await store.set(key, record, Math.min(config.idleTimeoutMs, record.endsAt - now()));
  };

  const timesOf = (tokens: ProviderTokens): Pick<SessionRecord, 'accessExpiresAt' | 'refreshAt'> => {
    // Without expires_in the token's own exp decides (the JWT path checks it on every request anyway).
    const lifetimeMs = (tokens.expiresIn ?? 300) * 1000;
    return { accessExpiresAt: now() + lifetimeMs, refreshAt: now() + lifetimeMs - Math.min(config.refreshBeforeMs, lifetimeMs / 2) };
  };

  const refresh = async (key: string, record: SessionRecord): Promise<SessionRecord> => {
    if (!record.refreshToken) {
      if (record.accessExpiresAt > now()) return record;
      await store.delete(key);
      throw AuthError.sessionEnded('access token expired and the provider gave no refresh token');
    }
    try {
      const tokens = await provider.refresh(record.refreshToken);
      // Rotation honoured: a new refresh token replaces the old one; without one, the old one stays.
      const next: SessionRecord = { ...record, ...timesOf(tokens), accessToken: tokens.accessToken, refreshToken: tokens.refreshToken ?? record.refreshToken, idToken: tokens.idToken ?? record.idToken };
      await save(key, next);
      log.info('session refreshed', { session: key.slice(0, 8) });
      return next;
    } catch (error) {
      if (error instanceof ProviderUnavailableError) {
        log.warn('session refresh failed: provider unavailable', { session: key.slice(0, 8), reason: error.message });
        // The current token still works until it expires (the next attempt waits a little: an unreachable
        // provider is not hammered by every request); after that the caller should retry later.
        if (record.accessExpiresAt > now()) {
          const next = { ...record, refreshAt: Math.min(record.accessExpiresAt, now() + REFRESH_RETRY_MS) };
          await save(key, next);
          return next;
        }
        throw AuthError.unavailable('session refresh: provider unavailable');
      }
      log.info('session ended: refresh refused', { session: key.slice(0, 8), reason: (error as Error).message });
      await store.delete(key);
      throw AuthError.sessionEnded('refresh refused by the provider');
    }
  };

  return {
    async startLogin(returnTo) {
      const checks = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
      let authorizationUrl: URL;
      try {
        authorizationUrl = await provider.authorizationUrl(checks);
      } catch (error) {
        throw new LoginError(error instanceof ProviderRefusedError ? 'refused' : 'unavailable', `authorization URL: ${(error as Error).message}`);
      }
      const loginId = randomId();
      await pending.set(storeKey(loginId), { ...checks, returnTo }, config.loginTimeoutMs);
      return { loginId, authorizationUrl };
    },

    async completeLogin(loginId, callback) {
      // Taken, not read: state, nonce and verifier are used once, whatever the outcome.
      const login = loginId ? await pending.take(storeKey(loginId)) : undefined;
      if (!login) throw new LoginError('refused', loginId ? 'no pending sign-in for this login cookie (expired or already used)' : 'no login cookie');
      let tokens: ProviderTokens;
      try {
        tokens = await provider.exchangeCode(callback, login);
      } catch (error) {
        throw new LoginError(error instanceof ProviderUnavailableError ? 'unavailable' : 'refused', (error as Error).message);
      }
      if (!tokens.subject) throw new LoginError('refused', 'ID token without sub');
      const sessionId = randomId();
      const createdAt = now();
      await save(storeKey(sessionId), {
        ...timesOf(tokens),
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        idToken: tokens.idToken,
        subject: tokens.subject,
        name: tokens.name,
        sid: tokens.sid,
        createdAt,
        endsAt: createdAt + config.maxAgeMs,
      });
      log.info('session started', { session: storeKey(sessionId).slice(0, 8), refreshable: tokens.refreshToken !== undefined });
      return { sessionId, returnTo: login.returnTo };
    },

    async accessToken(sessionId) {
      const key = storeKey(sessionId);
      let record = await store.get(key);
      if (!record || record.endsAt <= now()) {
        if (record) await store.delete(key);
        throw AuthError.sessionEnded('no live session for this cookie');
      }
      const revoked = options.revoked?.(record);
      if (revoked !== undefined) {
        await store.delete(key);
        log.info('session ended: revoked', { session: key.slice(0, 8), kind: revoked });
        throw AuthError.sessionEnded(`session revoked (${revoked})`);
      }
      if (now() >= record.refreshAt) {
        let flight = refreshing.get(key);
        if (!flight) {
          const { refreshLock } = options;
          flight = (refreshLock ? lockedRefresh(key, record, { lock: refreshLock, store, refresh, now, holdMs: config.timeoutMs * 2 }) : refresh(key, record)).finally(() => refreshing.delete(key));
          refreshing.set(key, flight);
        }
        record = await flight;
      } else {
        await save(key, record); // sliding idle timeout
      }
      return record.accessToken;
    },

    async describe(sessionId) {
      const record = await store.get(storeKey(sessionId));
      if (!record || record.endsAt <= now() || options.revoked?.(record) !== undefined) return undefined;
      return { subject: record.subject, name: record.name, endsAt: record.endsAt };
    },

    async end(sessionId) {
      const key = storeKey(sessionId);
      const record = await store.take(key);
      if (record) log.info('session ended: signed out', { session: key.slice(0, 8) });
      try {
        return await provider.endSessionUrl(record?.idToken);
      } catch (error) {
        log.warn('provider logout URL unavailable', { reason: (error as Error).message });
        return undefined;
      }
    },
  };
}
