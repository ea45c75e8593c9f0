/**
 * The revocation check of the chain (docs/fleet.md "Revocation"): after a credential verified — freshly
 * or from a cache (verification, introspection) — it is looked up in the revocation list, in memory.
 * A revoked credential gets the answer an invalid one gets (401 `invalid_token`, the same description),
 * so a caller learns nothing more; the reason (`revoked: <kind>`) goes to the audit stream only.
 */
import { AuthError } from '../errors.ts';
import type { CredentialFacts, RevocationList } from '../revocation/list.ts';
import { API_KEY_PATTERN } from './api-keys/store.ts';
import type { Verified } from './method.ts';

export function refuseRevoked(list: RevocationList | undefined, verified: Verified, method: string, credential: unknown): void {
  if (!list || list.size === 0) return;
  const apiKeyId = method === 'api_key' && typeof credential === 'string' ? API_KEY_PATTERN.exec(credential)?.[1] : undefined;
  const facts: CredentialFacts = { principalId: verified.principal.id, tokenId: verified.tokenId, issuedAtMs: verified.issuedAtMs, apiKeyId };
  const kind = list.refusal(facts);
  if (kind === undefined) return;
  const error =
    method === 'api_key'
      ? AuthError.invalidToken(`API key ${apiKeyId}: revoked (${kind})`, 'The API key is invalid')
      : method === 'mtls'
        ? AuthError.invalidToken(`client certificate revoked (${kind})`, 'The client certificate is not accepted')
        : AuthError.invalidToken(`revoked (${kind})`);
  error.method = method;
  throw error;
}
