/**
 * One fetch of a JSON Web Key Set document (RFC 7517 §5) for key-set.ts: no redirects, a timeout, the body
 * bounded while it streams, and an answer that could not verify anything (not JSON, no keys, no public
 * signing key) refused, so it never replaces keys that work.
 */
import type { JSONWebKeySet } from 'jose';
import { readBoundedText } from './bounded-read.ts';

export async function fetchKeySet(url: URL, timeoutMs: number, maxBytes: number): Promise<JSONWebKeySet> {
  const response = await fetch(url, {
    redirect: 'manual', // a key set URL that redirects is a misconfiguration or an attack; never follow
    headers: { accept: 'application/jwk-set+json, application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`key set fetch answered HTTP ${response.status}`);
  }
  const text = await readBoundedText(response.body, { maxBytes, declaredLength: response.headers.get('content-length'), what: 'key set response' });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('key set response is not JSON');
  }
  if (!isKeySet(json)) throw new Error('key set response has no "keys" array of objects');
  // An empty set is a broken provider, not a revocation of every key: keep the last good keys. So is a set
  // none of whose members is a public signing key (RFC 7517 §4: `kty`; `use`, when present, is "sig").
  if (json.keys.length === 0) throw new Error('key set response has no keys');
  if (!json.keys.some(isSigningKey)) throw new Error('key set response has no usable signing key');
  return json;
}

function isSigningKey(key: JSONWebKeySet['keys'][number]): boolean {
  return typeof key.kty === 'string' && (key.use === undefined || key.use === 'sig') && !('d' in key);
}

function isKeySet(value: unknown): value is JSONWebKeySet {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { keys?: unknown }).keys) &&
    (value as { keys: unknown[] }).keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key))
  );
}
