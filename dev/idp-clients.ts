/** The local stack's sign-in IdP (dev/idp.ts) and its clients, shared with scripts/start.ts. Development only. */
export const DEV_IDP_PORT = 4007;
export const DEV_IDP_ISSUER = `http://127.0.0.1:${DEV_IDP_PORT}`;
/** RFC 8707 resource (and `aud`) of the IdP's access tokens for the shop API. */
export const DEV_IDP_RESOURCE = 'https://shop-api.example/';
/** The gateway's cookie sessions (gateway.yaml `sessions`): a confidential client. */
export const DEV_BFF_CLIENT = { id: 'frontdesk-bff', secret: 'dev-bff-secret' } as const;
/** The demo app's bearer page: a public client (code + PKCE). */
export const DEV_SPA_CLIENT_ID = 'frontdesk-demo-spa';
