/**
 * The local stack's sign-in identity provider (`npm start`, :4007): the same oidc-provider the browser tests
 * run (test/support/oidc-provider/), with a login form for the demo users — alice, bob and carol, password
 * `<name>-password` — the authorization code flow with PKCE, refresh-token rotation and RP-initiated logout.
 * Two clients: the gateway's cookie sessions (gateway.yaml `sessions`, a confidential client) and the demo
 * app's bearer page (a public client). Tokens for the command line still come from dev/issuer.ts (:4005,
 * `npm run token`). Binds to loopback; development only: the client secret and cookie keys are fixed.
 */
import { DEV_BFF_CLIENT, DEV_IDP_PORT, DEV_SPA_CLIENT_ID } from './idp-clients.ts';

const gateway = process.env.FRONTDESK_GATEWAY_URL ?? 'http://127.0.0.1:4000';
const app = process.env.FRONTDESK_DEMO_URL ?? 'http://127.0.0.1:4006';

process.env.OIDC_HARNESS_PORT ??= String(DEV_IDP_PORT);
process.env.OIDC_HARNESS_ADMIN = '0';
process.env.OIDC_HARNESS_CLIENTS = JSON.stringify([
  {
    client_id: DEV_BFF_CLIENT.id,
    client_secret: DEV_BFF_CLIENT.secret,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [`${gateway}/auth/callback`],
    post_logout_redirect_uris: [`${app}/`],
    // A sign-out here ends the gateway's sessions from this sign-in too (docs/fleet.md "OpenID Connect Back-Channel Logout").
    backchannel_logout_uri: `${gateway}/auth/backchannel-logout`,
    backchannel_logout_session_required: true,
  },
  { client_id: DEV_SPA_CLIENT_ID, token_endpoint_auth_method: 'none', redirect_uris: [`${app}/bearer.html`] },
]);
// After the environment is set: the server reads it when it loads.
await import('../test/support/oidc-provider/server.ts');
