/**
 * API keys (README "API keys"): `fd_<id>_<secret>` in `auth.apiKeys.header` (or as a Bearer token — the
 * `fd_` shape claims it, so a key sent there is never forwarded to an introspection endpoint). The record
 * is looked up by its public id, the secret's SHA-256 compared in constant time. Unknown, wrong, revoked
 * and expired keys get one answer after the same work (a hash and a compare against a stand-in when the
 * id is unknown), so a caller learns nothing about which. Never accepted in the URL.
 *
 * The store file is polled (fs.watchFile: editors and `npm run apikey` replace it by rename) and swapped
 * whole when it changes, so a revoked key is refused within a second. A file that no longer parses fails
 * closed: every API key is answered 503 until it is fixed, rather than serving revoked keys from memory.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { principalId } from '@frontdesk/kit/contract';
import type { ApiKeysConfig } from '../../config/types.ts';
import { AuthError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { API_KEY_LOOKALIKE, API_KEY_PATTERN, hashSecret, parseKeyFile, type ApiKeyRecord } from '../api-keys/store.ts';
import type { AuthenticationMethod, PresentedRequest, Verified } from '../method.ts';
import type { Principal } from '../principal.ts';

/** How often the store file's mtime is checked, in ms: a revoked key is refused within about this. */
const POLL_MS = 500;
const INVALID = 'The API key is invalid';
/** Compared against when the id is unknown, so that case costs what a wrong secret costs. */
const STAND_IN = Buffer.alloc(32, 0xa5);

export interface ApiKeyMethod extends AuthenticationMethod<string> {
  close(): void;
}

export function apiKeyMethod(config: ApiKeysConfig, options: { log: Logger; now: () => number }): ApiKeyMethod {
  const { header, file, principalNamespace } = config;
  let byId: Map<string, ApiKeyRecord> | undefined;
  const load = () => {
    try {
      byId = new Map(parseKeyFile(readFileSync(file, 'utf8')).keys.map((record) => [record.id, record]));
      options.log.info('API key store loaded', { file, keys: byId.size });
    } catch (error) {
      byId = undefined;
      options.log.error('API key store unreadable: every API key is refused with 503 until it is fixed', { file, error });
    }
  };
  load();
  const onChange = (current: { mtimeMs: number; size: number }, previous: { mtimeMs: number; size: number }) => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size) load();
  };
  watchFile(file, { interval: POLL_MS, persistent: false }, onChange);

  const extract = (request: PresentedRequest) => {
    // A key in the URL ends up in access logs and browser history (like RFC 6750 §2.3's access_token).
    if (request.search.length > 1 && (API_KEY_LOOKALIKE.test(decodeSafely(request.search)) || hasKeyParameter(request.search, header))) {
      throw AuthError.invalidRequest('API key in the URL', 'Send the API key in a header, not the URL');
    }
    let value: string | undefined;
    for (let i = 0; i < request.rawHeaders.length; i += 2) {
      if ((request.rawHeaders[i] as string).toLowerCase() !== header) continue;
      if (value !== undefined) throw AuthError.invalidRequest(`two ${header} headers`, 'Send exactly one credential');
      value = (request.rawHeaders[i + 1] as string).trim();
    }
    const bearerKey = request.bearer?.startsWith('fd_') ? request.bearer : undefined;
    if (value !== undefined && bearerKey !== undefined) throw AuthError.invalidRequest(`API key in ${header} and Authorization`, 'Send exactly one credential');
    if (value !== undefined) return { carrier: 'api-key-header' as const, credential: value };
    if (bearerKey !== undefined) return { carrier: 'authorization' as const, credential: bearerKey };
    return undefined;
  };

  return {
    name: 'api_key',
    extract,
    close: () => unwatchFile(file, onChange),
    async verify(key): Promise<Verified> {
      if (!byId) throw AuthError.unavailable('API key store unreadable');
      const match = API_KEY_PATTERN.exec(key);
      const record = match ? byId.get(match[1] as string) : undefined;
      // The same work whatever is wrong: one hash, and a compare per stored secret (a stand-in if unknown).
      const presented = Buffer.from(hashSecret(match?.[2] ?? key), 'hex');
      const now = options.now();
      let secretOk = false;
      for (const stored of record?.secrets ?? [{ sha256: STAND_IN.toString('hex') }]) {
        const equal = timingSafeEqual(presented, Buffer.from(stored.sha256, 'hex'));
        const current = stored.notAfter === undefined || Date.parse(stored.notAfter) > now;
        secretOk = (equal && current) || secretOk;
      }
      const expiresAtMs = record?.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(record.expiresAt);
      if (!record || !secretOk || record.revoked || expiresAtMs <= now) {
        const why = !match ? 'malformed' : !record ? 'unknown id' : !secretOk ? 'wrong secret' : record.revoked ? 'revoked' : 'expired';
        throw AuthError.invalidToken(`API key ${match?.[1] ?? '(malformed)'}: ${why}`, INVALID);
      }
      return { principal: principalOf(record, principalNamespace, expiresAtMs), expiresAtMs };
    },
  };
}

function principalOf(record: ApiKeyRecord, namespace: string, expiresAtMs: number): Principal {
  return Object.freeze({
    id: principalId('api_key', namespace, record.owner),
    subject: record.owner,
    issuer: undefined,
    method: 'api_key' as const,
    scopes: Object.freeze([...record.scopes]),
    roles: Object.freeze([...record.roles]),
    tenant: record.tenant,
    clientId: undefined,
    expiresAt: Number.isFinite(expiresAtMs) ? new Date(expiresAtMs) : undefined,
  });
}

function hasKeyParameter(search: string, header: string): boolean {
  const params = new URLSearchParams(search);
  return ['api_key', 'apikey', 'api-key', header].some((name) => params.has(name));
}

function decodeSafely(search: string): string {
  try {
    return decodeURIComponent(search);
  } catch {
    return search;
  }
}
