import { parsePrincipalId, principalId, type Identity, type Policy } from '@frontdesk/kit';

/**
 * The shop's account space: the principal-id namespace the gateway gives the shop's identity provider
 * (`principalNamespace: shop` on its `auth.jwt[]` entry in gateway.yaml). A shop user `u2` is the
 * principal `jwt:shop:u2` with a bearer token, or `session:shop:u2` signed in through the gateway's cookie
 * session (the same account: the session's access token comes from the same issuer); the same `sub` from
 * any other issuer is someone else (docs/identity-token.md "The principal id").
 */
export const SHOP_ACCOUNTS = 'shop';

/** The principal id of the shop user `userId`: what policies compare with `identity.id`. */
export const shopPrincipalId = (userId: string): string => principalId('jwt', SHOP_ACCOUNTS, userId);

/** How a shop account can have proved who it is: its bearer token, or a gateway session holding one. */
const SHOP_METHODS: ReadonlySet<string> = new Set(['jwt', 'session']);

/** The shop user an identity is, or undefined when it is not one of the shop's accounts. */
export function shopUserId(identity: Identity): string | undefined {
  const parsed = identity.id === undefined ? undefined : parsePrincipalId(identity.id);
  return parsed !== undefined && SHOP_METHODS.has(parsed.method) && parsed.namespace === SHOP_ACCOUNTS ? parsed.subject : undefined;
}

/** Policies shared by the example subgraphs. */
export const isAdmin: Policy = (identity) => identity.roles.includes('admin');
