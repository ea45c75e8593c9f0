/**
 * The API key store file (`auth.apiKeys.file`), shared by the gateway (reads it) and `npm run apikey`
 * (writes it). A key is `fd_<id>_<secret>`: a fixed prefix secret scanners can match, a public id (64
 * bits, hex) to look the record up by, and a 256-bit random secret (hex) of which only the SHA-256 is
 * stored.
 *
 * Why SHA-256 and not a password KDF (bcrypt, scrypt, Argon2): a KDF's slowness protects low-entropy
 * secrets that an attacker holding the hashes could guess. A 256-bit random secret cannot be guessed, slow
 * hash or not, so the KDF would add only per-request cost; a plain SHA-256 keeps the stored hash useless
 * to whoever steals the file (a preimage of 2^256) and verification at about a microsecond.
 */
import { createHash, randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { CLAIM_LIMITS, isClaimItem } from '@frontdesk/kit/contract';

export const API_KEY_PREFIX = 'fd_';
/** `fd_` + 16 hex id + `_` + 64 hex secret. */
export const API_KEY_PATTERN = /^fd_([0-9a-f]{16})_([0-9a-f]{64})$/;
/** Anything that looks like the start of a key, wherever it is (the URL check). */
export const API_KEY_LOOKALIKE = /fd_[0-9a-f]{16}_/i;

export interface StoredSecret {
  /** hex SHA-256 of the secret part. */
  sha256: string;
  /** Set on a secret replaced by `rotate`: it stops working then (ISO 8601). */
  notAfter?: string;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  /** The principal's subject. */
  owner: string;
  scopes: string[];
  roles: string[];
  tenant?: string;
  createdAt: string;
  expiresAt?: string;
  revoked: boolean;
  secrets: StoredSecret[];
}

export interface ApiKeyFile {
  keys: ApiKeyRecord[];
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** A fresh key: what to give the caller once, and the secret's record. */
export function generateKey(id: string = randomBytes(8).toString('hex')): { key: string; id: string; secret: StoredSecret } {
  const secret = randomBytes(32).toString('hex');
  return { key: `${API_KEY_PREFIX}${id}_${secret}`, id, secret: { sha256: hashSecret(secret) } };
}

/** Parses and checks the whole file; throws an Error naming the first bad record. */
export function parseKeyFile(text: string): ApiKeyFile {
  const raw = (parseYaml(text) ?? { keys: [] }) as { keys?: unknown };
  if (typeof raw !== 'object' || raw === null || !Array.isArray(raw.keys)) throw new Error('expected a mapping with a `keys` list');
  const seen = new Set<string>();
  const keys = raw.keys.map((entry: unknown, index) => {
    const record = checkApiKeyRecord(entry, `keys[${index}]`);
    if (seen.has(record.id)) throw new Error(`keys[${index}].id: ${record.id} is listed twice`);
    seen.add(record.id);
    return record;
  });
  return { keys };
}

/** Checks one record (from the file or from Redis); throws an Error naming what is wrong at `at`. */
export function checkApiKeyRecord(entry: unknown, at: string): ApiKeyRecord {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`${at}: expected a mapping`);
  const r = entry as Record<string, unknown>;
  const text = (name: string, max: number, optional = false): string | undefined => {
    const value = r[name];
    if (value === undefined && optional) return undefined;
    if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new Error(`${at}.${name}: expected a string of 1-${max} characters`);
    return value;
  };
  const items = (name: string): string[] => {
    const value = r[name] ?? [];
    if (!Array.isArray(value) || value.length > CLAIM_LIMITS.items || !value.every(isClaimItem)) throw new Error(`${at}.${name}: expected a list of scopes/roles without whitespace`);
    return [...value] as string[];
  };
  const date = (name: string, optional: boolean): string | undefined => {
    const value = text(name, 64, optional);
    if (value !== undefined && Number.isNaN(Date.parse(value))) throw new Error(`${at}.${name}: not an ISO 8601 date`);
    return value;
  };
  const id = text('id', 16) as string;
  if (!/^[0-9a-f]{16}$/.test(id)) throw new Error(`${at}.id: expected 16 hex digits`);
  if (typeof r.revoked !== 'boolean') throw new Error(`${at}.revoked: expected true or false`);
  if (!Array.isArray(r.secrets) || r.secrets.length === 0) throw new Error(`${at}.secrets: expected a non-empty list`);
  const secrets = r.secrets.map((secret: unknown, index) => {
    const s = (secret ?? {}) as Record<string, unknown>;
    if (typeof s.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.sha256)) throw new Error(`${at}.secrets[${index}].sha256: expected 64 hex digits`);
    if (s.notAfter !== undefined && (typeof s.notAfter !== 'string' || Number.isNaN(Date.parse(s.notAfter)))) throw new Error(`${at}.secrets[${index}].notAfter: not an ISO 8601 date`);
    return s.notAfter === undefined ? { sha256: s.sha256 } : { sha256: s.sha256, notAfter: s.notAfter as string };
  });
  const tenant = text('tenant', CLAIM_LIMITS.item, true);
  const expiresAt = date('expiresAt', true);
  return {
    id,
    name: text('name', 200) as string,
    owner: text('owner', CLAIM_LIMITS.subject) as string,
    scopes: items('scopes'),
    roles: items('roles'),
    ...(tenant === undefined ? {} : { tenant }),
    createdAt: date('createdAt', false) as string,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    revoked: r.revoked,
    secrets,
  };
}

/** Writes the file atomically (temp file, then rename), so the gateway never reads half of it. */
export function writeKeyFile(path: string, file: ApiKeyFile): void {
  const temp = `${path}.${process.pid}.tmp`;
  const header = '# frontdesk API keys: managed by `npm run apikey`; secrets are stored only as SHA-256 hashes\n';
  writeFileSync(temp, header + toYaml(file), { mode: 0o600 });
  renameSync(temp, path);
}
