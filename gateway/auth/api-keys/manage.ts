/**
 * What `npm run apikey` does to the store file: create (the key is returned once, only its hash kept),
 * list (never a secret), revoke, rotate (a new secret; the old one keeps working for a grace period so
 * callers can switch without an outage). Every change rewrites the file atomically; the gateway picks it
 * up within a second. The record operations themselves (new, rotated) are shared with the Redis store
 * (./redis-records.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { generateKey, parseKeyFile, writeKeyFile, type ApiKeyFile, type ApiKeyRecord } from './store.ts';

export interface CreateOptions {
  name: string;
  /** The principal's subject. Default: the name. */
  owner?: string;
  scopes?: string[];
  roles?: string[];
  tenant?: string;
  /** ISO 8601. */
  expiresAt?: string;
}

function read(file: string): ApiKeyFile {
  return existsSync(file) ? parseKeyFile(readFileSync(file, 'utf8')) : { keys: [] };
}

function find(store: ApiKeyFile, id: string): ApiKeyRecord {
  const record = store.keys.find((entry) => entry.id === id);
  if (!record) throw new Error(`no key with id ${id}`);
  return record;
}

/** A new record and its key (the key is never stored); the same for the file and for Redis. */
export function newApiKeyRecord(options: CreateOptions, now = new Date()): { key: string; record: ApiKeyRecord } {
  const { key, id, secret } = generateKey();
  const record: ApiKeyRecord = {
    id,
    name: options.name,
    owner: options.owner ?? options.name,
    scopes: options.scopes ?? [],
    roles: options.roles ?? [],
    ...(options.tenant ? { tenant: options.tenant } : {}),
    createdAt: now.toISOString(),
    ...(options.expiresAt ? { expiresAt: new Date(options.expiresAt).toISOString() } : {}),
    revoked: false,
    secrets: [secret],
  };
  return { key, record };
}

/** `record` with a new secret; the current ones stop working after `graceMs`. Returns the new key. */
export function rotatedRecord(record: ApiKeyRecord, graceMs: number, now = new Date()): { key: string; record: ApiKeyRecord } {
  if (record.revoked) throw new Error(`key ${record.id} is revoked; create a new one`);
  const { key, secret } = generateKey(record.id);
  const notAfter = new Date(now.getTime() + graceMs).toISOString();
  const kept = record.secrets
    .filter((old) => old.notAfter === undefined || Date.parse(old.notAfter) > now.getTime())
    .map((old) => ({ sha256: old.sha256, notAfter: old.notAfter !== undefined && old.notAfter < notAfter ? old.notAfter : notAfter }));
  return { key, record: { ...record, secrets: [secret, ...kept] } };
}

/** Adds a key; returns the key itself, which is never stored and cannot be shown again. */
export function createApiKey(file: string, options: CreateOptions, now = new Date()): { key: string; record: ApiKeyRecord } {
  const store = read(file);
  const { key, record } = newApiKeyRecord(options, now);
  const next = { keys: [...store.keys, record] };
  parseKeyFile(JSON.stringify(next)); // the same checks the gateway applies, before anything is written
  writeKeyFile(file, next);
  return { key, record };
}

export function listApiKeys(file: string): Array<Omit<ApiKeyRecord, 'secrets'> & { secrets: number }> {
  return read(file).keys.map(({ secrets, ...record }) => ({ ...record, secrets: secrets.length }));
}

export function revokeApiKey(file: string, id: string): void {
  const store = read(file);
  find(store, id).revoked = true;
  writeKeyFile(file, store);
}

/** A new secret for the same id; the current ones stop working after `graceMs`. Returns the new key. */
export function rotateApiKey(file: string, id: string, graceMs: number, now = new Date()): string {
  const store = read(file);
  const { key, record } = rotatedRecord(find(store, id), graceMs, now);
  writeKeyFile(file, { keys: store.keys.map((entry) => (entry.id === id ? record : entry)) });
  return key;
}
