/**
 * The revocation list (docs/fleet.md "Revocation"): what this instance refuses although the credential
 * verifies. Kept in memory on every instance, so the request path makes no Redis round trip; ./fleet.ts
 * keeps it in step with the fleet. Entries merge by keeping the later `at` and `until` (a grow-only set:
 * applying the same entry twice, or in any order, gives the same list).
 *
 * Bounded (docs/fleet.md "Revocation": a full list never forgets what security depends on): when full,
 * expired entries are swept and a new entry is refused, never a live one evicted.
 */
import { parsePrincipalId } from '@frontdesk/kit/contract';

export const REVOCATION_KINDS = ['sub', 'jti', 'api-key', 'sid'] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

/**
 * One revocation. `sub` (`<namespace>:<subject>`): credentials of that subject issued at or before `at`
 * are refused (a later sign-in works). `jti`: that token. `api-key`: that key id. `sid`: the cookie
 * sessions started from that OpenID provider session. `until`: when the entry stops mattering (ms since
 * the epoch; Infinity: never).
 */
export interface Revocation {
  readonly kind: RevocationKind;
  readonly id: string;
  readonly at: number;
  readonly until: number;
}

/** What a verified credential says about itself, enough to find it in the list. */
export interface CredentialFacts {
  /** The principal's id (`<amr>:<namespace>:<subject>`). */
  readonly principalId: string | undefined;
  /** The credential's `jti`, when it has one. */
  readonly tokenId?: string | undefined;
  /** When it was issued (`iat`, a session's sign-in), ms since the epoch; unknown: issued before any revocation. */
  readonly issuedAtMs?: number | undefined;
  /** The API key's public id. */
  readonly apiKeyId?: string | undefined;
  /** The OpenID provider session a cookie session came from. */
  readonly sid?: string | undefined;
}

const MAX_ID_LENGTH = 512;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A well-formed entry from an untrusted source (Redis, a message, the admin endpoint), or undefined. */
export function parseRevocation(value: unknown): Revocation | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { kind, id, at, until } = value as Record<string, unknown>;
  if (!REVOCATION_KINDS.includes(kind as RevocationKind)) return undefined;
  if (!isRevocationId(id) || typeof at !== 'number' || !Number.isFinite(at)) return undefined;
  // JSON has no Infinity: a permanent entry travels as `until: null`.
  const end = until === null ? Number.POSITIVE_INFINITY : until;
  if (typeof end !== 'number' || Number.isNaN(end)) return undefined;
  return { kind: kind as RevocationKind, id, at, until: end };
}

export function isRevocationId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH && !CONTROL.test(id);
}

/** The JSON form (Redis, pub/sub, the admin endpoint's answer). */
export function revocationJson(entry: Revocation): string {
  return JSON.stringify({ kind: entry.kind, id: entry.id, at: entry.at, until: Number.isFinite(entry.until) ? entry.until : null });
}

/** The id of a `sub` revocation: `<namespace>:<subject>`, the principal id without its method. */
export const subjectId = (namespace: string, subject: string): string => `${namespace}:${subject}`;

export const revocationKey = (entry: Pick<Revocation, 'kind' | 'id'>): string => `${entry.kind}:${entry.id}`;

export interface RevocationList {
  /** Adds or merges an entry: 'added', 'changed' (a later at or until), 'known' (nothing new), 'expired', 'full'. */
  apply(entry: Revocation): 'added' | 'changed' | 'known' | 'expired' | 'full';
  /** The kind of revocation that refuses this credential, or undefined. Memory only. */
  refusal(facts: CredentialFacts): RevocationKind | undefined;
  get(kind: RevocationKind, id: string): Revocation | undefined;
  /** Every live entry (for the fleet's reconciliation). */
  entries(): Revocation[];
  readonly size: number;
  /** Drops expired entries; returns how many. */
  sweep(): number;
}

export interface RevocationListOptions {
  maxEntries: number;
  now?: () => number;
  /** Each entry that was added or changed (metrics). */
  onApplied?: (entry: Revocation) => void;
}

export function createRevocationList(options: RevocationListOptions): RevocationList {
  const now = options.now ?? Date.now;
  const byKey = new Map<string, Revocation>();
  // Per-kind counts let the hot path skip a lookup (and a parse) for kinds nobody revoked.
  const counts: Record<RevocationKind, number> = { sub: 0, jti: 0, 'api-key': 0, sid: 0 };

  const live = (kind: RevocationKind, id: string): Revocation | undefined => {
    if (counts[kind] === 0) return undefined;
    const entry = byKey.get(`${kind}:${id}`);
    if (!entry) return undefined;
    if (entry.until > now()) return entry;
    byKey.delete(`${kind}:${id}`);
    counts[kind]--;
    return undefined;
  };
  const sweep = (): number => {
    const at = now();
    let dropped = 0;
    for (const [key, entry] of byKey) {
      if (entry.until > at) continue;
      byKey.delete(key);
      counts[entry.kind]--;
      dropped++;
    }
    return dropped;
  };

  return {
    apply(entry) {
      if (entry.until <= now()) return 'expired';
      const key = revocationKey(entry);
      const known = byKey.get(key);
      if (known && known.at >= entry.at && known.until >= entry.until) return 'known';
      if (!known && byKey.size >= options.maxEntries && (sweep() === 0 || byKey.size >= options.maxEntries)) return 'full';
      const merged = known ? { ...entry, at: Math.max(known.at, entry.at), until: Math.max(known.until, entry.until) } : entry;
      byKey.set(key, Object.freeze(merged));
      if (!known) counts[entry.kind]++;
      options.onApplied?.(merged);
      return known ? 'changed' : 'added';
    },
    refusal({ principalId, tokenId, issuedAtMs, apiKeyId, sid }) {
      if (tokenId !== undefined && live('jti', tokenId)) return 'jti';
      if (apiKeyId !== undefined && live('api-key', apiKeyId)) return 'api-key';
      if (sid !== undefined && live('sid', sid)) return 'sid';
      if (counts.sub > 0 && principalId !== undefined) {
        const parsed = parsePrincipalId(principalId);
        // API keys are revoked by id: a key is not issued by a sign-in (docs/fleet.md "Revocation").
        if (parsed && parsed.method !== 'api_key') {
          const entry = live('sub', subjectId(parsed.namespace, parsed.subject));
          if (entry && (issuedAtMs === undefined || issuedAtMs <= entry.at)) return 'sub';
        }
      }
      return undefined;
    },
    get: (kind, id) => live(kind, id),
    entries: () => [...byKey.values()].filter((entry) => entry.until > now()),
    get size() {
      return byKey.size;
    },
    sweep,
  };
}
