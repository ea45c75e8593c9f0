/**
 * The gateway as the app's backend-for-frontend, in a real Chromium: a person signs in through the
 * provider's login form, the demo app (another origin) queries with the session cookie only, the gateway
 * refreshes the short-lived access token transparently (once, however many queries are in flight), and
 * signing out ends the session here and at the provider. One browser for the file, a fresh context per test.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, SKIP_BROWSER, startBrowserScenario, type BrowserScenario } from '../support/browser.ts';

const COOKIE = '__Host-frontdesk-session';

describe.skipIf(SKIP_BROWSER)('cookie sessions in Chromium', () => {
  let browser: Browser;
  let scenario: BrowserScenario;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    [browser, scenario] = await Promise.all([launchChromium(), startBrowserScenario()]);
    // Access tokens live 5 s: every test below lives through at least one transparent refresh.
    await scenario.idp.configure({ accessTokenTTLSeconds: 5 });
  });
  afterAll(async () => {
    await browser?.close();
    await scenario?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
    await scenario.idp.resetStats();
    scenario.stack.resetReceived();
  });
  afterEach(async () => {
    await context.close();
  });

  async function signIn(username: string): Promise<void> {
    await page.goto(`${scenario.app}/`);
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('Not signed in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(`${username}-password`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${scenario.app}/`);
    await expect.poll(() => page.locator('#who').textContent()).toBe(`Signed in as ${username}`);
  }

  const cell = (field: string) => page.getByRole('row', { name: field }).getByRole('cell');
  const outcome = () => page.locator('#outcome').textContent();

  it('bob signs in through the login form; the page shows his data and costPrice denied; no token reaches the page', async () => {
    await signIn('bob');
    await page.getByRole('button', { name: 'Run the query', exact: true }).click();
    await expect.poll(outcome).toBe('Answered (HTTP 200) for bob');
    expect(await cell('me.username').textContent()).toBe('bob');
    expect(await cell('me.email').textContent()).toBe('bob@shop.example');
    expect(await cell('user(id: "u2").email').textContent()).toBe('bob@shop.example'); // himself: the self policy
    expect(await cell('product(upc: "p001").costPrice').textContent()).toBe('denied (FORBIDDEN)');
    // README's screenshot: FRONTDESK_SCREENSHOTS=docs/img npx vitest run test/browser/session.test.ts
    if (process.env.FRONTDESK_SCREENSHOTS) await page.screenshot({ path: `${process.env.FRONTDESK_SCREENSHOTS}/demo-signed-in.png`, fullPage: true });

    // The subgraphs saw bob, authenticated by session.
    const identity = scenario.stack.subgraphs.accounts.received.at(-1)?.identity?.claims;
    expect(identity).toMatchObject({ sub: 'u2', amr: ['session'], pid: 'session:shop:u2', roles: ['customer'] });

    // The cookie is the only thing the browser holds: HttpOnly, Secure, Lax, host-only, an opaque id.
    const cookies = await context.cookies(scenario.gateway);
    const session = cookies.find((c) => c.name === COOKIE);
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/', domain: '127.0.0.1' });
    expect(session?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // What the page's own script can read (evaluated in the page, written as a string: no DOM types here).
    expect(await page.evaluate('document.cookie')).not.toContain(COOKIE);
    const storage = await page.evaluate<string>('JSON.stringify({ ...localStorage, ...sessionStorage })');
    expect(storage).not.toMatch(/eyJ/); // no JWT anywhere the page can read
  });

  it('a query after the access token expired succeeds, with one refresh at the provider for 5 queries in flight', async () => {
    await signIn('carol');
    await page.getByRole('button', { name: 'Run the query', exact: true }).click();
    await expect.poll(outcome).toBe('Answered (HTTP 200) for carol');
    expect((await scenario.idp.grants()).refresh_token).toEqual({});

    await page.waitForTimeout(8_000); // the 5 s access token is long gone
    await page.getByRole('button', { name: 'Run the query 5 times at once' }).click();
    await expect.poll(outcome, { timeout: 10_000 }).toBe('5 of 5 answered for carol');
    expect(await cell('product(upc: "p001").costPrice').textContent()).toBe('10061');
    const grants = await scenario.idp.grants();
    expect(grants.refresh_token).toEqual({ u3: 1 });
    expect(grants.refresh_token_refused).toEqual({});
  });

  it('signing out ends the session here and at the provider; the next query is anonymous; the old cookie is refused', async () => {
    await signIn('alice');
    const before = (await context.cookies(scenario.gateway)).find((c) => c.name === COOKIE)!.value;

    await page.getByRole('button', { name: 'Sign out' }).click();
    // RP-initiated logout: the provider asks, the person confirms, the provider sends them back to the app.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${scenario.app}/`);
    await expect.poll(() => page.locator('#who').textContent()).toBe('Not signed in');
    expect((await context.cookies(scenario.gateway)).some((c) => c.name === COOKIE)).toBe(false);

    await page.getByRole('button', { name: 'Run the query', exact: true }).click();
    await expect.poll(outcome).toBe('Answered (HTTP 200) for an anonymous caller');
    expect(await cell('me.username').textContent()).toBe('denied (UNAUTHENTICATED)');

    // The old cookie value, replayed (with everything a real app request has), is refused and cleared.
    scenario.stack.resetReceived();
    const replay = await fetch(`${scenario.gateway}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `${COOKIE}=${before}`, origin: scenario.app, 'x-frontdesk-csrf': '1' },
      body: JSON.stringify({ query: '{ me { username } }' }),
    });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual({ errors: [{ message: 'The session has ended; sign in again', extensions: { code: 'UNAUTHENTICATED', reason: 'session_ended' } }] });
    expect(replay.headers.get('set-cookie')).toBe(`${COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`);
    expect(scenario.stack.subgraphs.accounts.received).toEqual([]);

    // Signing in again asks for the password: the provider's session ended too.
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByLabel('Password').isVisible()).resolves.toBe(true);
  });

  describe('another site', () => {
    let evil: Server;
    let evilOrigin: string;

    beforeAll(async () => {
      evil = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Win a prize</title></head><body>
<p role="status" id="result">Waiting</p>
<button type="button" id="json">Claim with a JSON fetch</button>
<button type="button" id="simple">Claim with a simple fetch</button>
<form method="post" action="${scenario.gateway}/graphql" enctype="text/plain"><input type="hidden" name='{"query":"{ me { username } }","x":"' value='"}'><button>Claim with a form</button></form>
<script>
const say = (text) => { document.getElementById('result').textContent = text; };
const body = JSON.stringify({ query: '{ me { username email } }' });
document.getElementById('json').onclick = () => fetch('${scenario.gateway}/graphql', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json', 'x-frontdesk-csrf': '1' }, body })
  .then((r) => r.text()).then((t) => say('Read: ' + t), () => say('Blocked by the browser'));
document.getElementById('simple').onclick = () => fetch('${scenario.gateway}/graphql', { method: 'POST', credentials: 'include', mode: 'no-cors', body })
  .then(() => say('Sent blind'), () => say('Blocked by the browser'));
</script></body></html>`);
      });
      await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
      // localhost is another site than 127.0.0.1: the Lax cookie is not even sent.
      evilOrigin = `http://localhost:${(evil.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      evil.closeAllConnections();
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    });

    it('cannot read or act with the signed-in user\'s session: JSON fetch blocked, blind posts refused', async () => {
      await signIn('bob');
      scenario.stack.resetReceived();
      const attacker = await context.newPage();
      await attacker.goto(`${evilOrigin}/`);

      await attacker.getByRole('button', { name: 'Claim with a JSON fetch' }).click();
      await expect.poll(() => attacker.locator('#result').textContent()).toBe('Blocked by the browser');

      await attacker.getByRole('button', { name: 'Claim with a simple fetch' }).click();
      await expect.poll(() => attacker.locator('#result').textContent()).toBe('Sent blind');

      const [response] = await Promise.all([attacker.waitForResponse(`${scenario.gateway}/graphql`), attacker.getByRole('button', { name: 'Claim with a form' }).click()]);
      expect(response.status()).toBe(415);

      // Nothing ran for bob (nor for anyone): no subgraph was called.
      for (const subgraph of Object.values(scenario.stack.subgraphs)) expect(subgraph.received).toEqual([]);
      // And the app itself still works for bob.
      await page.getByRole('button', { name: 'Run the query', exact: true }).click();
      await expect.poll(outcome).toBe('Answered (HTTP 200) for bob');
    });
  });
});
