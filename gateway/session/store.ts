/**
 * Where cookie sessions and sign-ins in progress are kept. The gateway talks to a `SessionStore` only, so
 * a shared store (Redis, for a fleet) can replace the memory one without touching the session logic.
 * Keys are SHA-256 digests of the cookie value, never the value itself: whoever reads the store cannot
 * turn what they read into a working cookie.
 */
import { LRUCache } from 'lru-cache';

/** A signed-in browser: the provider's tokens, kept server-side (never sent to the browser). */
export interface SessionRecord {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  /** For RP-initiated logout (`id_token_hint`). */
  readonly idToken: string | undefined;
  /** When the access token expires (ms since the epoch). */
  readonly accessExpiresAt: number;
  /** When to refresh it: before it expires by `refreshBefore`, at most half its lifetime (ms since the epoch). */
  readonly refreshAt: number;
  /** The ID token's `sub`, and a display name when the provider gave one. */
  readonly subject: string;
  readonly name: string | undefined;
  /** The provider's session id (ID token `sid`): a back-channel logout names it (docs/fleet.md "Revocation"). */
  readonly sid?: string | undefined;
  /** Sign-in time and the absolute end (`sessions.maxAge`), ms since the epoch. */
  readonly createdAt: number;
  readonly endsAt: number;
}

/** A sign-in between /auth/login and /auth/callback: what the callback must see again, once. */
export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** Validated at /auth/login: an absolute URL on an app origin. */
  readonly returnTo: string;
}

/**
 * A keyed store with expiry. Implementations must be bounded, honour `ttlMs`, and make `take` atomic
 * (get-and-delete: a pending sign-in is completed at most once, whatever the concurrency).
 */
export interface KeyValueStore<V> {
  get(key: string): Promise<V | undefined>;
  /** Stores `value` for `ttlMs` milliseconds (replacing any previous value). */
  set(key: string, value: V, ttlMs: number): Promise<void>;
  /** Returns the value and deletes it in one step. */
  take(key: string): Promise<V | undefined>;
  delete(key: string): Promise<void>;
}

export type SessionStore = KeyValueStore<SessionRecord>;
export type PendingLoginStore = KeyValueStore<PendingLogin>;

/**
 * The in-process store: an LRU bounded to `maxEntries`, entries expiring after their TTL. When full, the
 * least recently used entry is dropped — for a session, that user is signed out (fails closed), never
 * signed in as someone else. Not shared between gateway instances.
 */
export function createMemoryStore<V extends object>(options: { maxEntries: number; now?: () => number }): KeyValueStore<V> {
  const now = options.now ?? Date.now;
  const cache = new LRUCache<string, { value: V; expiresAt: number }>({ max: options.maxEntries });
  const live = (key: string): V | undefined => {
    const entry = cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now()) return entry.value;
    cache.delete(key);
    return undefined;
  };
  return {
    async get(key) {
      return live(key);
    },
    async set(key, value, ttlMs) {
      if (ttlMs <= 0) cache.delete(key);
      else cache.set(key, { value, expiresAt: now() + ttlMs });
    },
    async take(key) {
      const value = live(key);
      cache.delete(key);
      return value;
    },
    async delete(key) {
      cache.delete(key);
    },
  };
}
