/**
 * API key records in the fleet's Redis (`auth.apiKeys.store: redis`, docs/fleet.md "Shared API keys"):
 * one hash per key id (`<keyPrefix>apikey:<id>`, the record's fields, lists as JSON), a set of the ids
 * (`<keyPrefix>apikeys`, for `list`), and a channel (`<keyPrefix>apikeys:changed`) on which every change
 * announces the id, so each gateway drops what it cached at once.
 *
 * The gateway reads a record with one HGETALL. `npm run apikey -- --config <gateway.yaml>` writes them here:
 * each change is a WATCH/MULTI transaction (the record and its announcement together, and no two operators
 * overwriting each other's change). Records are checked on the way in and on the way out, as the file is.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { newApiKeyRecord, rotatedRecord, type CreateOptions } from './manage.ts';
import { checkApiKeyRecord, parseKeyFile, type ApiKeyRecord } from './store.ts';

/** What the records need of the shared store: a connection of their own (WATCH is per connection) and its prefix. */
export interface RedisRecordsTarget {
  readonly redis: Redis;
  readonly keyPrefix: string;
}

const INDEX_KEY = 'apikeys';
export const recordKey = (id: string): string => `apikey:${id}`;
/** Channel names are not prefixed by ioredis: the prefix is added here. */
export const changeChannel = (keyPrefix: string): string => `${keyPrefix}apikeys:changed`;

const LIST_FIELDS = ['scopes', 'roles', 'secrets'] as const;

export function encodeRecord(record: ApiKeyRecord): Record<string, string> {
  const hash: Record<string, string> = {};
  for (const [field, value] of Object.entries(record)) {
    if (value === undefined) continue;
    hash[field] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return hash;
}

/** A record in Redis that does not pass the checks the file's records pass. */
export class MalformedRecordError extends Error {
  override name = 'MalformedRecordError';
}

/** The record in `hash` (HGETALL's answer), undefined when there is none; throws MalformedRecordError. */
export function decodeRecord(hash: Record<string, string>, id: string): ApiKeyRecord | undefined {
  if (Object.keys(hash).length === 0) return undefined;
  const raw: Record<string, unknown> = { ...hash };
  try {
    for (const field of [...LIST_FIELDS, 'revoked']) if (typeof hash[field] === 'string') raw[field] = JSON.parse(hash[field]);
    const record = checkApiKeyRecord(raw, recordKey(id));
    if (record.id !== id) throw new Error(`${recordKey(id)}.id: holds ${record.id}`);
    return record;
  } catch (error) {
    throw new MalformedRecordError(error instanceof SyntaxError ? `${recordKey(id)}: a field is not JSON` : (error as Error).message);
  }
}

/** The gateway's lookup: one round trip. */
export async function readApiKeyRecord(redis: Redis, id: string): Promise<ApiKeyRecord | undefined> {
  return decodeRecord(await redis.hgetall(recordKey(id)), id);
}

/** Adds a key; returns the key itself, which is never stored and cannot be shown again. */
export async function createApiKeyInRedis(target: RedisRecordsTarget, options: CreateOptions, now = new Date()): Promise<{ key: string; record: ApiKeyRecord }> {
  const created = newApiKeyRecord(options, now);
  checkApiKeyRecord(created.record, 'the new key');
  if (!(await insert(target, created.record))) throw new Error(`key id ${created.record.id} exists already; run create again`);
  return created;
}

export async function listApiKeysInRedis(target: RedisRecordsTarget): Promise<ApiKeyRecord[]> {
  const ids = (await target.redis.smembers(INDEX_KEY)).sort();
  const pipeline = target.redis.pipeline();
  for (const id of ids) pipeline.hgetall(recordKey(id));
  const answers = (await pipeline.exec()) ?? [];
  const records: ApiKeyRecord[] = [];
  answers.forEach(([error, hash], index) => {
    if (error) throw error;
    const record = decodeRecord(hash as Record<string, string>, ids[index] as string);
    if (record) records.push(record);
  });
  return records;
}

export async function revokeApiKeyInRedis(target: RedisRecordsTarget, id: string): Promise<void> {
  await update(target, id, (record) => ({ ...record, revoked: true }));
}

/** A new secret for the same id; the current ones stop working after `graceMs`. Returns the new key. */
export async function rotateApiKeyInRedis(target: RedisRecordsTarget, id: string, graceMs: number, now = new Date()): Promise<string> {
  let key = '';
  await update(target, id, (record) => {
    const rotated = rotatedRecord(record, graceMs, now);
    key = rotated.key;
    return rotated.record;
  });
  return key;
}

/**
 * Copies the records of a key store file into Redis, for moving a gateway from `store: file` to
 * `store: redis`. An id already in Redis is left as it is (run it again safely); returns what happened.
 */
export async function importApiKeysToRedis(target: RedisRecordsTarget, file: string): Promise<{ imported: string[]; skipped: string[] }> {
  const { keys } = parseKeyFile(readFileSync(file, 'utf8'));
  const imported: string[] = [];
  const skipped: string[] = [];
  for (const record of keys) (await insert(target, record) ? imported : skipped).push(record.id);
  return { imported, skipped };
}

/** Writes a record whose id is not taken, with its announcement (a gateway may have cached "unknown"). */
async function insert({ redis, keyPrefix }: RedisRecordsTarget, record: ApiKeyRecord): Promise<boolean> {
  const key = recordKey(record.id);
  for (;;) {
    await redis.watch(key);
    if ((await redis.exists(key)) === 1) {
      await redis.unwatch();
      return false;
    }
    const done = await redis.multi().hset(key, encodeRecord(record)).sadd(INDEX_KEY, record.id).publish(changeChannel(keyPrefix), record.id).exec();
    if (committed(done)) return true;
  }
}

/** Read, change, write back if nobody changed it meanwhile (else again), and announce the change. */
async function update({ redis, keyPrefix }: RedisRecordsTarget, id: string, change: (record: ApiKeyRecord) => ApiKeyRecord): Promise<void> {
  const key = recordKey(id);
  for (;;) {
    await redis.watch(key);
    const current = await readApiKeyRecord(redis, id).catch(async (error: unknown) => {
      await redis.unwatch();
      throw error;
    });
    if (!current) {
      await redis.unwatch();
      throw new Error(`no key with id ${id}`);
    }
    let next: ApiKeyRecord;
    try {
      next = checkApiKeyRecord(change(current), key);
    } catch (error) {
      await redis.unwatch();
      throw error;
    }
    // DEL then HSET: a field the change removed does not linger.
    const done = await redis.multi().del(key).hset(key, encodeRecord(next)).publish(changeChannel(keyPrefix), id).exec();
    if (committed(done)) return;
  }
}

/** EXEC's answer: null when a watched key changed (try again); a failed command inside it is thrown. */
function committed(answers: Array<[Error | null, unknown]> | null): boolean {
  if (answers === null) return false;
  for (const [error] of answers) if (error) throw error;
  return true;
}
