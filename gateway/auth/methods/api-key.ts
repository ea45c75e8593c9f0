/**
 * API keys (README "API keys"): `fd_<id>_<secret>` in `auth.apiKeys.header` (or as a Bearer token — the
 * `fd_` shape claims it, so a key sent there is never forwarded to an introspection endpoint). The record
 * is looked up by its public id, the secret's SHA-256 compared in constant time. Unknown, wrong, revoked
 * and expired keys get one answer after the same work (a lookup, a hash and a compare against a stand-in
 * when the id is unknown), so a caller learns nothing about which; only a malformed key, whose shape its
 * sender knows, skips the lookup. Never accepted in the URL.
 *
 * Where the records live is the lookup's business: the store file (../api-keys/file-lookup.ts) or the
 * fleet's Redis (../api-keys/redis-lookup.ts). Either fails closed: a store that cannot answer is a 503.
 */
import { timingSafeEqual } from 'node:crypto';
import { principalId } from '@frontdesk/kit/contract';
import type { ApiKeysConfig } from '../../config/types.ts';
import { AuthError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { SharedStore } from '../../store/redis.ts';
import { fileApiKeyLookup, type ApiKeyLookup } from '../api-keys/file-lookup.ts';
import { redisApiKeyLookup } from '../api-keys/redis-lookup.ts';
import { API_KEY_LOOKALIKE, API_KEY_PATTERN, hashSecret, type ApiKeyRecord } from '../api-keys/store.ts';
import type { AuthenticationMethod, PresentedRequest, Verified } from '../method.ts';
import type { Principal } from '../principal.ts';

const INVALID = 'The API key is invalid';
/** Compared against when the id is unknown, so that case costs what a wrong secret costs. */
const STAND_IN = Buffer.alloc(32, 0xa5);

export interface ApiKeyMethod extends AuthenticationMethod<string> {
  close(): void;
}

export interface ApiKeyMethodOptions {
  log: Logger;
  now: () => number;
  /** The fleet's Redis; required with `store: redis`. */
  shared?: SharedStore;
  /** Most ids the Redis lookup caches (`auth.cache.maxEntries`). */
  maxEntries?: number;
}

function lookupFor(config: ApiKeysConfig, options: ApiKeyMethodOptions): ApiKeyLookup {
  if (config.store === 'file') return fileApiKeyLookup(config.file, options.log);
  // The config check refuses store: redis without store.redis; reaching here without it is a wiring bug.
  if (!options.shared) throw new TypeError('auth.apiKeys.store: redis needs the shared store (store.redis)');
  return redisApiKeyLookup(options.shared, { cacheTtlMs: config.cacheTtlMs, maxEntries: options.maxEntries ?? 10_000, log: options.log });
}

export function apiKeyMethod(config: ApiKeysConfig, options: ApiKeyMethodOptions): ApiKeyMethod {
  const { header, principalNamespace } = config;
  const lookup = lookupFor(config, options);

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
    close: () => lookup.close(),
    async verify(key): Promise<Verified> {
      const match = API_KEY_PATTERN.exec(key);
      const record = await lookup.find(match?.[1]);
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
