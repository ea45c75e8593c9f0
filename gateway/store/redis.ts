/**
 * The shared store of a fleet (`store.redis`, docs/fleet.md): one ioredis connection for commands, and a
 * second one, made on demand, for pub/sub (a subscribed connection can run no other command).
 *
 * Why these client options — a gateway must never hang or crash because Redis is away:
 * - `enableOfflineQueue: false`: while disconnected a command fails at once instead of queueing until
 *   Redis returns (ioredis's default would hold every request for the whole outage);
 * - `commandTimeout`: a command that Redis does not answer fails after `store.redis.timeout`;
 * - `maxRetriesPerRequest: 0`: a command is never re-sent behind the caller's back (a rate-limit
 *   increment sent twice would count twice);
 * - `retryStrategy`: reconnect for ever, backing off to 1 s, so the store comes back on its own;
 * - `enableAutoPipelining` (the command connection only): the commands of concurrent requests issued in
 *   one event-loop turn leave in one write — each is still its own command with its own answer. It took
 *   rate limiting's cost on the gateway-bound bench query from 0.82× to 0.92× req/s (docs/performance.md).
 * Each feature decides what an unavailable store means for it (fail open or closed) and says so in
 * docs/fleet.md; this module only reports availability.
 */
import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';

export interface SharedStore {
  /** The command connection. Keys are prefixed with `keyPrefix` by the client itself. */
  readonly redis: Redis;
  /** `store.redis.keyPrefix`: pub/sub channel names must carry it themselves (ioredis prefixes keys only). */
  readonly keyPrefix: string;
  /** A new connection for SUBSCRIBE, closed with the store. */
  subscriber(): Redis;
  /** True while the command connection is up. */
  available(): boolean;
  close(): Promise<void>;
}

/** Connects, waiting up to `connectTimeout` for the first connection; a Redis that is down is logged, never fatal. */
export async function connectSharedStore(config: RedisConfig, log: Logger): Promise<SharedStore> {
  const options = clientOptions(config);
  const redis = new Redis(config.url, { ...options, enableAutoPipelining: true });
  const subscribers: Redis[] = [];
  watch(redis, 'commands', log);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      log.warn('shared store: Redis not reachable at boot; features apply their rule for an unavailable store until it is', { timeoutMs: config.connectTimeoutMs });
      resolve();
    }, config.connectTimeoutMs).unref();
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    redis,
    keyPrefix: config.keyPrefix,
    subscriber() {
      // Subscriptions must survive a reconnect: ioredis re-subscribes on its own (autoResubscribe).
      const connection = new Redis(config.url, { ...options, keyPrefix: undefined, enableOfflineQueue: true, commandTimeout: undefined });
      watch(connection, 'pub/sub', log);
      subscribers.push(connection);
      return connection;
    },
    available: () => redis.status === 'ready',
    async close() {
      await Promise.all([redis, ...subscribers].map((connection) => connection.quit().catch(() => connection.disconnect())));
    },
  };
}

function clientOptions(config: RedisConfig): RedisOptions {
  // ioredis reads host, port, user, password and db from the URL, but TLS only from `tls`.
  const files = config.tls;
  const tls = config.url.startsWith('rediss://')
    ? {
        tls: {
          ...(files?.ca ? { ca: readFileSync(files.ca) } : {}),
          ...(files?.cert ? { cert: readFileSync(files.cert) } : {}),
          ...(files?.key ? { key: readFileSync(files.key) } : {}),
        },
      }
    : {};
  return {
    keyPrefix: config.keyPrefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.timeoutMs,
    connectTimeout: config.connectTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    ...tls,
  };
}

/** Logs each change of state once (not every reconnect attempt), and never lets an 'error' event throw. */
function watch(connection: Redis, role: string, log: Logger): void {
  let up = false;
  connection.on('ready', () => {
    if (!up) log.info('shared store: Redis connected', { role });
    up = true;
  });
  connection.on('error', (error: Error) => {
    if (up) log.warn('shared store: Redis connection lost; reconnecting', { role, error: error.message });
    up = false;
  });
  connection.on('end', () => (up = false));
}
