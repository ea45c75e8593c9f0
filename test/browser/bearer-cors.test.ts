/**
 * Bearer tokens from a browser app on another origin, in a real Chromium: the demo's bearer page signs in
 * as a public client (code + PKCE), calls the gateway cross-origin with CORS, reads the expired-token
 * challenge (exposed header) and `extensions.reason`, refreshes once and retries. A disallowed origin gets
 * no CORS headers and its browser blocks the call. One browser for the file, a fresh context per test.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, SKIP_BROWSER, startBrowserScenario, type BrowserScenario } from '../support/browser.ts';

describe.skipIf(SKIP_BROWSER)('bearer tokens and CORS in Chromium', () => {
  let browser: Browser;
  let scenario: BrowserScenario;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    [browser, scenario] = await Promise.all([launchChromium(), startBrowserScenario()]);
    await scenario.idp.configure({ accessTokenTTLSeconds: 3 });
  });
  afterAll(async () => {
    await browser?.close();
    await scenario?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
    await scenario.idp.resetStats();
  });
  afterEach(async () => {
    await context.close();
  });

  const outcome = () => page.locator('#outcome').textContent();
  const requests = () => page.getByRole('list', { name: 'Requests' }).getByRole('listitem').allTextContents();

  it('the bearer page refreshes once on an expired-token 401 and its retry succeeds', async () => {
    await page.goto(`${scenario.app}/bearer.html`);
    await page.getByRole('button', { name: 'Sign in with a bearer token' }).click();
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('carol-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${scenario.app}/bearer.html`);
    await expect.poll(() => page.locator('#who').textContent()).toBe('Signed in as carol (bearer token)');

    await page.getByRole('button', { name: 'Run the query' }).click();
    await expect.poll(outcome).toBe('Answered (HTTP 200) for carol');
    expect(await requests()).toEqual(['HTTP 200']);
    expect(scenario.stack.subgraphs.accounts.received.at(-1)?.identity?.claims).toMatchObject({ sub: 'u3', amr: ['jwt'] });

    await page.waitForTimeout(4_000); // past the 3 s access token
    await page.getByRole('button', { name: 'Run the query' }).click();
    await expect.poll(outcome, { timeout: 10_000 }).toBe('Answered (HTTP 200) for carol');
    // The app could read the challenge cross-origin (exposed), and retried once after one refresh.
    expect(await requests()).toEqual([
      'HTTP 200',
      'HTTP 401 — Bearer realm="frontdesk", error="invalid_token", error_description="The access token expired"',
      'Refreshed the access token',
      'HTTP 200',
    ]);
    expect((await scenario.idp.grants()).refresh_token).toEqual({ u3: 1 });
  });

  describe('an origin that is not allowed', () => {
    let other: Server;
    let otherOrigin: string;

    beforeAll(async () => {
      other = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Other app</title></head><body>
<p role="status" id="result">Waiting</p><button type="button">Call the gateway</button>
<script>
document.querySelector('button').onclick = () => fetch('${scenario.gateway}/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ topProducts(first: 1) { name } }' }) })
  .then((r) => r.text()).then((t) => { document.getElementById('result').textContent = 'Read: ' + t; }, () => { document.getElementById('result').textContent = 'Blocked by the browser'; });
</script></body></html>`);
      });
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      other.closeAllConnections();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    });

    it('gets no CORS headers, so its browser blocks even an anonymous query before it is sent', async () => {
      scenario.stack.resetReceived();
      await page.goto(`${otherOrigin}/`);
      await page.getByRole('button', { name: 'Call the gateway' }).click();
      await expect.poll(() => page.locator('#result').textContent()).toBe('Blocked by the browser');
      // The preflight failed, so the POST itself never reached the gateway: no subgraph was called.
      for (const subgraph of Object.values(scenario.stack.subgraphs)) expect(subgraph.received).toEqual([]);
    });

    it('control: the allowed app origin reads the same anonymous query', async () => {
      await page.goto(`${scenario.app}/`);
      await page.getByRole('button', { name: 'Run the query', exact: true }).click();
      await expect.poll(outcome).toBe('Answered (HTTP 200) for an anonymous caller');
    });
  });
});
