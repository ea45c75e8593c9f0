/**
 * Browser tests: Debian's Chromium (`apt-get install chromium`, /usr/bin/chromium) driven by
 * playwright-core, and the whole browser scenario on loopback — the real oidc-provider (with a BFF client
 * and a single-page-app client), the demo app on its own origin, the shop stack with CORS and sessions.
 *
 * Without Chromium the browser tests are skipped, unless CI is set: then they fail (CI must install it).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startDemoApp, type DemoConfig } from '../../dev/demo/server.ts';
import { AUDIENCE, startOidcProvider, type OidcProviderProcess } from './oidc-provider/client.ts';
import { freePort } from './ports.ts';
import { startStack, type Stack } from './stack.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Skip only on a developer machine without Chromium; in CI a missing browser is a failure. */
export const SKIP_BROWSER = !existsSync(CHROMIUM_PATH) && !process.env.CI;

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

export { freePort };

export const BFF_CLIENT = { id: 'frontdesk-bff', secret: 'bff-secret-for-tests' };
export const SPA_CLIENT_ID = 'frontdesk-spa';

export interface BrowserScenario {
  idp: OidcProviderProcess;
  stack: Stack;
  /** The gateway's base URL (http://127.0.0.1:port). */
  gateway: string;
  /** The demo app's origin. */
  app: string;
  close(): Promise<void>;
}

/**
 * The IdP, the demo app and the shop behind a gateway with `cors` (the app's origin, credentials) and
 * `sessions` (the BFF client). `sessions` overrides merge over the defaults used here.
 */
export async function startBrowserScenario(options: { sessions?: Record<string, unknown>; anonymous?: boolean } = {}): Promise<BrowserScenario> {
  const gatewayPort = await freePort();
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  const demoConfig: DemoConfig = { gateway, issuer: '', spaClientId: SPA_CLIENT_ID, resource: AUDIENCE };
  const demo = await startDemoApp(demoConfig);
  const idp = await startOidcProvider({
    clients: [
      {
        client_id: BFF_CLIENT.id,
        client_secret: BFF_CLIENT.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [`${gateway}/auth/callback`],
        post_logout_redirect_uris: [`${demo.url}/`],
      },
      { client_id: SPA_CLIENT_ID, token_endpoint_auth_method: 'none', redirect_uris: [`${demo.url}/bearer.html`] },
    ],
  });
  demoConfig.issuer = idp.issuer;
  const stack = await startStack({
    auth: {
      anonymous: options.anonymous ?? true,
      jwt: [{ issuer: idp.issuer, audience: [AUDIENCE], principalNamespace: 'shop', typ: 'at+jwt', claims: { tenant: 'org_id' } }],
    },
    config: {
      listen: { host: '127.0.0.1', port: gatewayPort },
      cors: { origins: [demo.url], credentials: true },
      sessions: {
        issuer: idp.issuer,
        clientId: BFF_CLIENT.id,
        clientSecret: BFF_CLIENT.secret,
        redirectUri: `${gateway}/auth/callback`,
        postLogoutRedirectUri: `${demo.url}/`,
        resource: AUDIENCE,
        scopes: ['openid', 'offline_access', 'profile', 'products:read', 'inventory:read', 'reviews:write'],
        ...options.sessions,
      },
    },
  });
  return {
    idp,
    stack,
    gateway,
    app: demo.url,
    async close() {
      await stack.close();
      await demo.close();
      await idp.stop();
    },
  };
}
