/**
 * Logout tokens of OpenID Connect Back-Channel Logout 1.0, checked as §2.6 says: a JWS signed by the
 * provider with a key of its key set (the same one `auth.jwt` verifies its access tokens with), `iss` the
 * sessions' issuer, `aud` our client id, `iat` and `exp` present (and not too old), a `jti`, an `events`
 * claim whose member `http://schemas.openid.net/event/backchannel-logout` is a JSON object, a `sub` or a
 * `sid`, and no `nonce` (so an ID token can never pass as a logout token). `typ` is `logout+jwt` when
 * present (§2.4; RFC 8725 §3.11 explicit typing): an access token or ID token is refused by its type too.
 * A `jti` is accepted once (§2.6 step 9): remembered until its `exp`, in Redis for the fleet when
 * configured, always in memory too.
 */
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { SharedStore } from '../store/redis.ts';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Largest logout token read, in bytes. */
export const MAX_LOGOUT_TOKEN_BYTES = 8_192;
/** A logout token older than this (by its `iat`) is refused, whatever its `exp` (§2.6 step 7 allows it). */
const MAX_AGE_SECONDS = 300;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_CLAIM = 512;

/** A logout token that must not log anyone out; `message` is server-only. */
export class LogoutTokenError extends Error {
  override readonly name = 'LogoutTokenError';
}

/** Whom a valid logout token names: a provider session (`sid`), else every session of `sub`. */
export interface LogoutRequest {
  readonly sid: string | undefined;
  readonly sub: string | undefined;
}

export interface LogoutTokenVerifierOptions {
  issuer: string;
  clientId: string;
  getKey: JWTVerifyGetKey;
  algorithms: readonly string[];
  clockToleranceMs: number;
  /** Where `jti`s are remembered across the fleet; memory only without it. */
  shared?: Pick<SharedStore, 'redis' | 'available'>;
  now?: () => number;
}

export function createLogoutTokenVerifier(options: LogoutTokenVerifierOptions): (token: string) => Promise<LogoutRequest> {
  const now = options.now ?? Date.now;
  // Bounded; when full the oldest is dropped — a logout token is at most MAX_AGE_SECONDS old, and a
  // replayed logout only logs out again, never in (docs/fleet.md "Revocation").
  const seen = new LRUCache<string, true>({ max: 10_000, ttl: (MAX_AGE_SECONDS + 60) * 1000, ttlAutopurge: false });

  const firstUse = async (jti: string, expMs: number): Promise<boolean> => {
    if (seen.has(jti)) return false;
    seen.set(jti, true);
    if (!options.shared?.available()) return true;
    try {
      const ttl = Math.max(1_000, Math.min(expMs - now(), MAX_AGE_SECONDS * 1000) + options.clockToleranceMs);
      return (await options.shared.redis.set(`logout-jti:${jti}`, '1', 'PX', ttl, 'NX')) === 'OK';
    } catch {
      return true; // Redis away: this instance's memory decides
    }
  };

  return async (token) => {
    if (token.length > MAX_LOGOUT_TOKEN_BYTES || !JWS_COMPACT.test(token)) throw new LogoutTokenError('not a JWS compact serialisation');
    let typ: unknown;
    try {
      typ = decodeProtectedHeader(token).typ;
    } catch {
      throw new LogoutTokenError('malformed JOSE header');
    }
    if (typ !== undefined && (typeof typ !== 'string' || !/^(application\/)?logout\+jwt$/i.test(typ))) throw new LogoutTokenError(`typ ${JSON.stringify(typ).slice(0, 40)} is not logout+jwt`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, options.getKey, {
        issuer: options.issuer,
        audience: options.clientId,
        algorithms: [...options.algorithms],
        requiredClaims: ['iat', 'exp', 'jti', 'events'],
        maxTokenAge: MAX_AGE_SECONDS,
        clockTolerance: Math.round(options.clockToleranceMs / 1000),
        currentDate: new Date(now()),
      }));
    } catch (error) {
      const code = error instanceof errors.JOSEError ? error.code : 'ERR_UNEXPECTED';
      throw new LogoutTokenError(`${code}: ${(error as Error).message}`, { cause: error });
    }
    const events = payload.events;
    const event = typeof events === 'object' && events !== null && !Array.isArray(events) && Object.hasOwn(events, BACKCHANNEL_LOGOUT_EVENT) ? (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] : undefined;
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new LogoutTokenError('events has no back-channel logout member that is a JSON object');
    if (Object.hasOwn(payload, 'nonce')) throw new LogoutTokenError('nonce present (§2.4: prohibited in a logout token)');
    const sid = boundedString(payload, 'sid');
    const sub = boundedString(payload, 'sub');
    if (sid === undefined && sub === undefined) throw new LogoutTokenError('neither sub nor sid');
    const jti = boundedString(payload, 'jti');
    if (jti === undefined) throw new LogoutTokenError('jti is not a string of 1-512 characters');
    if (!(await firstUse(jti, (payload.exp as number) * 1000))) throw new LogoutTokenError('jti already used (replayed logout token)');
    return { sid, sub };
  };
}

function boundedString(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CLAIM) throw new LogoutTokenError(`${name} is not a string of 1-${MAX_CLAIM} characters`);
  return value;
}
