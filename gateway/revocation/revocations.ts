/**
 * The revocation room's door for server.ts: the list in memory, kept in step with the fleet, and the
 * one way to revoke (by kind and id) that gives each kind its lifetime (docs/fleet.md "Revocation"):
 * `sub` and `jti` for `revocation.retention` (a credential issued before outlives neither), `sid` for
 * `sessions.maxAge` (a session it ends cannot last longer), `api-key` for ever (a key is re-issued under
 * a new id).
 */
import { createHash } from 'node:crypto';
import type { GatewayConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { SharedStore } from '../store/redis.ts';
import { syncRevocations, type FleetRevocations } from './fleet.ts';
import { createRevocationList, type Revocation, type RevocationKind, type RevocationList } from './list.ts';

export interface Revocations {
  readonly list: RevocationList;
  /** Revokes here at once and across the fleet (when Redis answers); `entry` is what was recorded. */
  revoke(kind: RevocationKind, id: string, options?: { at?: number; until?: number }): Promise<{ entry: Revocation; result: string; shared: boolean }>;
  readonly ready: Promise<void>;
  close(): void;
}

export interface RevocationHooks {
  /** Each entry added or changed, whatever its source (metrics). */
  onApplied?: (entry: Revocation) => void;
  now?: () => number;
}

const DAY_MS = 86_400_000;

/** `revocation.retention`, or the longest credential lifetime the config accepts (at least a day). */
export function retentionOf(config: Pick<GatewayConfig, 'revocation' | 'auth' | 'sessions'>): number {
  if (config.revocation.retentionMs !== undefined) return config.revocation.retentionMs;
  return Math.max(DAY_MS, ...config.auth.jwt.map((issuer) => issuer.maxLifetimeMs), config.sessions?.maxAgeMs ?? 0);
}

/** How long an entry of each kind matters, from its `at`. */
export function lifetimeOf(kind: RevocationKind, config: Pick<GatewayConfig, 'revocation' | 'auth' | 'sessions'>): number {
  if (kind === 'api-key') return Number.POSITIVE_INFINITY;
  if (kind === 'sid') return config.sessions?.maxAgeMs ?? retentionOf(config);
  return retentionOf(config);
}

export function createRevocations(config: Pick<GatewayConfig, 'revocation' | 'auth' | 'sessions'>, shared: SharedStore | undefined, log: Logger, hooks: RevocationHooks = {}): Revocations {
  const now = hooks.now ?? Date.now;
  const list = createRevocationList({ maxEntries: config.revocation.maxEntries, now, ...(hooks.onApplied ? { onApplied: hooks.onApplied } : {}) });
  const fleet: FleetRevocations = syncRevocations(list, shared, log.child({ room: 'revocation' }));
  // Each revocation received here is a security event: the audit stream (docs/production.md "Logs").
  const audit = log.child({ audit: true });
  return {
    list,
    async revoke(kind, id, options = {}) {
      const at = options.at ?? now();
      const entry: Revocation = { kind, id, at, until: options.until ?? at + lifetimeOf(kind, config) };
      const { result, shared: persisted } = await fleet.revoke(entry);
      // Subjects and provider sessions are personal: the log names them by a digest, like the audit stream.
      const named = kind === 'sub' || kind === 'sid' ? { idSha256: createHash('sha256').update(id).digest('base64url').slice(0, 22) } : { id };
      audit.info('revocation', { kind, ...named, result, shared: persisted });
      return { entry, result, shared: persisted };
    },
    ready: fleet.ready,
    close: () => fleet.close(),
  };
}
