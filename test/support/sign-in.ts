/**
 * Signing a person in through the gateway's cookie session without a browser (the flow of
 * test/integration/http/sessions.test.ts): /auth/login, the provider's login form, the callback; and
 * signing out at the provider (RP-initiated logout's confirmation form), which sends back-channel logouts.
 */
import { expect } from 'vitest';

/** Cookies by name: enough for one user agent on loopback (every service is on 127.0.0.1). */
export class Jar {
  readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  async get(url: string): Promise<Response> {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: this.header() } });
    this.take(response);
    return response;
  }
}

/** Signs `username` in through `gateway` (its /auth/login and /auth/callback); returns the browser's jar. */
export async function signIn(gateway: string, returnTo: string, username = 'bob'): Promise<Jar> {
  const jar = new Jar();
  let response = await jar.get(`${gateway}/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
  expect(response.status).toBe(302);
  let location = response.headers.get('location')!;
  while (!location.includes('/interaction/')) location = new URL((await jar.get(location)).headers.get('location')!, location).href;
  response = await fetch(`${location}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password: `${username}-password` }),
  });
  jar.take(response);
  location = new URL(response.headers.get('location')!, location).href;
  while (!location.startsWith(`${gateway}/auth/callback`)) location = new URL((await jar.get(location)).headers.get('location')!, location).href;
  response = await jar.get(location);
  expect(response.status).toBe(303);
  return jar;
}

/** Signs out at the provider (its end_session page, then "Sign out"): the provider notifies the clients' back-channel logout URIs. */
export async function signOutAtProvider(jar: Jar, issuer: string, clientId: string): Promise<void> {
  const page = await jar.get(`${issuer}/session/end?client_id=${encodeURIComponent(clientId)}`);
  const html = await page.text();
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)">/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !xsrf) throw new Error(`no logout form at the provider: ${page.status} ${html.slice(0, 300)}`);
  const confirm = await fetch(new URL(action, issuer), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }),
  });
  jar.take(confirm);
  expect([200, 302, 303]).toContain(confirm.status);
}
