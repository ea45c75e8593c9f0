/**
 * Revocations across the fleet (docs/fleet.md "Revocation"). Every instance holds the whole list in
 * memory (./list.ts); with `store.redis` it is also kept in one Redis hash (the persisted list, for
 * instances that start later) and each new entry is published on a channel (pub/sub: every instance
 * applies it within milliseconds). A write is HSET + PUBLISH in one MULTI.
 *
 * Nothing is lost while Redis is away: a revocation made then applies here at once, and whenever a
 * connection comes back (the subscriber's or the command one) the instance reconciles — it reads the
 * persisted hash (what it missed while unsubscribed) and writes back, and publishes, what it holds that
 * Redis lacks (what it revoked meanwhile, or what a Redis that restarted empty forgot). Entries only ever
 * grow until they expire, so reconciling in any order converges.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { SharedStore } from '../store/redis.ts';
import { parseRevocation, revocationJson, revocationKey, type Revocation, type RevocationList } from './list.ts';

/** The hash (under the client's key prefix) and the channel (prefixed by hand: ioredis prefixes keys only). */
export const REVOCATIONS_KEY = 'revocations';
export const revocationChannel = (keyPrefix: string): string => `${keyPrefix}revocations`;

export interface FleetRevocations {
  /** Applies here at once, then persists and publishes; `shared` says whether Redis took it now. */
  revoke(entry: Revocation): Promise<{ result: ReturnType<RevocationList['apply']>; shared: boolean }>;
  /** Resolves once the first reconciliation ran (or failed because Redis is away). */
  readonly ready: Promise<void>;
  close(): void;
}

/** Writes entries to the hash and the channel in one transaction (also used by `npm run revoke`). */
export async function persistRevocations(redis: Redis, keyPrefix: string, entries: readonly Revocation[]): Promise<void> {
  if (entries.length === 0) return;
  const multi = redis.multi();
  for (const entry of entries) {
    const json = revocationJson(entry);
    multi.hset(REVOCATIONS_KEY, revocationKey(entry), json);
    multi.publish(revocationChannel(keyPrefix), json);
  }
  const results = await multi.exec();
  const failed = results?.find(([error]) => error);
  if (!results || failed) throw failed?.[0] ?? new Error('revocation write aborted');
}

export function syncRevocations(list: RevocationList, shared: SharedStore | undefined, log: Logger, options: { sweepMs?: number; onSync?: () => void } = {}): FleetRevocations {
  const sweeper = setInterval(() => list.sweep(), options.sweepMs ?? 60_000).unref();
  if (!shared) {
    return {
      async revoke(entry) {
        return { result: list.apply(entry), shared: false };
      },
      ready: Promise.resolve(),
      close: () => clearInterval(sweeper),
    };
  }
  const { redis, keyPrefix } = shared;
  const channel = revocationChannel(keyPrefix);
  let closed = false;

  const applyRemote = (raw: string, source: string): void => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const entry = parseRevocation(parsed);
    if (!entry) return log.warn('revocation ignored: malformed entry', { source });
    if (list.apply(entry) === 'full') log.error('revocation list full: entry from the fleet not applied', { kind: entry.kind, source });
  };

  // One reconciliation at a time; a request during one runs once more after it (it may have missed data).
  let running: Promise<void> | undefined;
  let again = false;
  const reconcile = async (): Promise<void> => {
    const persisted = await redis.hgetall(REVOCATIONS_KEY);
    const now = Date.now();
    const expired: string[] = [];
    for (const [field, raw] of Object.entries(persisted)) {
      const entry = parseRevocation(safeParse(raw));
      if (!entry || entry.until <= now) expired.push(field);
      else applyRemote(raw, 'persisted');
    }
    if (expired.length > 0) await redis.hdel(REVOCATIONS_KEY, ...expired);
    const missing = list.entries().filter((entry) => {
      const remote = parseRevocation(safeParse(persisted[revocationKey(entry)]));
      return !remote || remote.at < entry.at || remote.until < entry.until;
    });
    await persistRevocations(redis, keyPrefix, missing);
    if (missing.length > 0) log.info('revocations written back to the shared store', { entries: missing.length });
    options.onSync?.();
  };
  const requestSync = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = reconcile()
      .catch((error: unknown) => log.warn('revocations: shared store unavailable; the list in memory still applies', { error: (error as Error).message }))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          void requestSync();
        }
      });
    return running;
  };

  const subscriber = shared.subscriber();
  subscriber.on('message', (from: string, raw: string) => {
    if (from === channel) applyRemote(raw, 'published');
  });
  // On every (re)connection: subscribe (idempotent beside ioredis's own resubscribe), then read what was
  // persisted — after the subscription, so nothing falls between the two.
  const onSubscriberReady = (): void => {
    subscriber.subscribe(channel).then(
      () => void requestSync(),
      (error: unknown) => log.warn('revocations: subscribe failed', { error: (error as Error).message }),
    );
  };
  subscriber.on('ready', onSubscriberReady);
  const onCommandsReady = (): void => void requestSync();
  redis.on('ready', onCommandsReady);

  const ready = new Promise<void>((resolve) => {
    if (subscriber.status === 'ready') onSubscriberReady();
    if (redis.status !== 'ready') return resolve(); // booting without Redis: memory only until it returns
    void requestSync().then(resolve);
  });

  return {
    async revoke(entry) {
      const result = list.apply(entry);
      if (result === 'full' || result === 'expired') return { result, shared: false };
      try {
        await persistRevocations(redis, keyPrefix, [entry]);
        return { result, shared: true };
      } catch (error) {
        // Applied here; written back by the next reconciliation, when Redis answers again.
        log.warn('revocation applied here only; it is written to the shared store when Redis returns', { kind: entry.kind, error: (error as Error).message });
        return { result, shared: false };
      }
    },
    ready,
    close() {
      closed = true;
      clearInterval(sweeper);
      redis.off('ready', onCommandsReady);
      subscriber.off('ready', onSubscriberReady);
    },
  };
}

function safeParse(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
