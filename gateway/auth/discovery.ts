/**
 * OpenID Connect discovery (OIDC Discovery 1.0 §4) for issuers configured without `jwks`: the metadata
 * document names the jwks_uri. Fetched lazily, single flight, with a timeout and a size bound enforced
 * while the body streams; the document's `issuer` must equal the configured one exactly (§4.3), or its
 * keys are never used.
 */
import type { JWTVerifyGetKey } from 'jose';
import { readBoundedText } from '@frontdesk/kit/bounded-read';
import { createRemoteKeySet, KeySetUnavailableError, type KeySet, type RemoteKeySetOptions } from '@frontdesk/kit/key-set';

/** Largest discovery document, in bytes (64 KiB); counted while it streams, the transfer cut past it. */
const MAX_METADATA_BYTES = 65_536;

export function createDiscoveredKeySet(issuer: string, discoveryUrl: string, options: RemoteKeySetOptions): KeySet {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const now = options.now ?? Date.now;
  // A failed discovery is answered from memory as long as a failed first key set fetch (key-set.ts).
  const retryMs = Math.min(options.minIntervalMs ?? 5_000, options.cooldownMs ?? 30_000);
  let inner: KeySet | undefined;
  let pending: Promise<KeySet> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;

  const discover = (): Promise<KeySet> => {
    pending ??= (async () => {
      try {
        const metadata = await fetchProviderMetadata(issuer, discoveryUrl, timeoutMs);
        if (typeof metadata.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
        const jwksUrl = endpointOf(metadata.jwks_uri, issuer, 'jwks_uri');
        inner = createRemoteKeySet(jwksUrl, options);
        options.onFetch?.({ url: discoveryUrl, ok: true });
        return inner;
      } catch (error) {
        failedAt = now();
        options.onFetch?.({ url: discoveryUrl, ok: false, error: error as Error });
        throw new KeySetUnavailableError(`OIDC discovery for ${issuer} failed`, { cause: error });
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  const ready = async (): Promise<KeySet> => {
    if (inner) return inner;
    if (now() - failedAt < retryMs) throw new KeySetUnavailableError(`OIDC discovery for ${issuer} failed recently`);
    return discover();
  };

  const getKey: JWTVerifyGetKey = async (header, token) => (await ready()).getKey(header, token);
  return {
    getKey,
    refresh: async () => (await ready()).refresh(),
    current: () => inner?.current(),
    get revision() {
      return inner?.revision ?? 0;
    },
    holds: (revision) => inner?.holds(revision) ?? true,
  };
}

/**
 * The issuer's discovery document (OIDC Discovery 1.0 §4; RFC 8414 §3 for introspection_endpoint), read
 * with a timeout and bounded while it streams; its `issuer` must equal the configured one exactly (§4.3).
 */
export async function fetchProviderMetadata(issuer: string, discoveryUrl: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const response = await fetch(discoveryUrl, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`discovery answered HTTP ${response.status}`);
  }
  const text = await readBoundedText(response.body, {
    maxBytes: MAX_METADATA_BYTES,
    declaredLength: response.headers.get('content-length'),
    what: 'discovery document',
  });
  const metadata = JSON.parse(text) as unknown;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new Error('discovery document is not a JSON object');
  const { issuer: named } = metadata as { issuer?: unknown };
  if (named !== issuer) throw new Error(`discovery document names issuer ${JSON.stringify(named)}, expected ${issuer}`);
  return metadata as Record<string, unknown>;
}

/** An endpoint named by the discovery document: a URL, never downgrading an https issuer to http. */
export function endpointOf(value: string, issuer: string, member: string): URL {
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== new URL(issuer).protocol) throw new Error(`${member} downgrades to http`);
  return url;
}
