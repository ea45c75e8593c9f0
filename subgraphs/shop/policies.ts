import { parsePrincipalId, principalId, type Identity, type Policy } from '@frontdesk/kit';

/**
 * The shop's account space: the principal-id namespace the gateway gives the shop's identity provider
 * (`principalNamespace: shop` on its `auth.jwt[]` entry in gateway.yaml). A shop user `u2` is the
 * principal `jwt:shop:u2`; the same `sub` from any other issuer is someone else (docs/identity-token.md
 * "The principal id").
 */
export const SHOP_ACCOUNTS = 'shop';

/** The principal id of the shop user `userId`: what policies compare with `identity.id`. */
export const shopPrincipalId = (userId: string): string => principalId('jwt', SHOP_ACCOUNTS, userId);

/** The shop user an identity is, or undefined when it is not one of the shop's accounts. */
export function shopUserId(identity: Identity): string | undefined {
  const parsed = identity.id === undefined ? undefined : parsePrincipalId(identity.id);
  return parsed?.method === 'jwt' && parsed.namespace === SHOP_ACCOUNTS ? parsed.subject : undefined;
}

/** Policies shared by the example subgraphs. */
export const isAdmin: Policy = (identity) => identity.roles.includes('admin');
