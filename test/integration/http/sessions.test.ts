/**
 * Cookie sessions over real HTTP against the real oidc-provider, driven without a browser so every bad
 * input can be sent exactly: a wrong or reused state, no login cookie (no PKCE verifier), returnTo to other
 * origins, forged and truncated cookies, a cookie beside a bearer token, a cookie without the CSRF header or
 * from another origin. None is a 5xx; none signs anyone in; no subgraph is called for any of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowserScenario, type BrowserScenario } from '../../support/browser.ts';

const COOKIE = '__Host-frontdesk-session';
const LOGIN_COOKIE = `${COOKIE}-login`;
const QUERY = JSON.stringify({ query: '{ me { username } }' });

/** Cookies by name: enough for one user agent on loopback (every service is on 127.0.0.1). */
class Jar {
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
}

describe('cookie sessions over HTTP', () => {
  let scenario: BrowserScenario;
  let gateway: string;
  let app: string;

  beforeAll(async () => {
    scenario = await startBrowserScenario();
    ({ gateway, app } = scenario);
  });
  afterAll(() => scenario?.close());

  const get = async (jar: Jar, url: string): Promise<Response> => {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(response);
    return response;
  };

  /** Runs /auth/login and the provider's login form; returns the callback URL the provider sent back (not yet followed). */
  async function authorize(jar: Jar, username = 'bob'): Promise<string> {
    let response = await get(jar, `${gateway}/auth/login?returnTo=${encodeURIComponent(`${app}/orders`)}`);
    expect(response.status).toBe(302);
    let location = response.headers.get('location')!;
    while (!location.includes('/interaction/')) location = new URL((await get(jar, location)).headers.get('location')!, location).href;
    const form = await fetch(location, { headers: { cookie: jar.header() } });
    expect(await form.text()).toContain('<label>Username');
    response = await fetch(`${location}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password: `${username}-password` }),
    });
    jar.take(response);
    location = new URL(response.headers.get('location')!, location).href;
    while (!location.startsWith(`${gateway}/auth/callback`)) location = new URL((await get(jar, location)).headers.get('location')!, location).href;
    return location;
  }

  async function signIn(username = 'bob'): Promise<Jar> {
    const jar = new Jar();
    const response = await get(jar, await authorize(jar, username));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${app}/orders`);
    return jar;
  }

  const query = (headers: Record<string, string>) => fetch(`${gateway}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: QUERY });
  const asApp = (jar: Jar, extra: Record<string, string> = {}) => query({ cookie: jar.header(), origin: app, 'x-frontdesk-csrf': '1', ...extra });
  const nothingRan = () => {
    for (const subgraph of Object.values(scenario.stack.subgraphs)) expect(subgraph.received).toEqual([]);
  };

  it('signs in with code + PKCE, state and nonce; the cookie authenticates app requests as amr session', async () => {
    const jar = await signIn('bob');
    expect(jar.cookies.has(COOKIE)).toBe(true);
    expect(jar.cookies.has(LOGIN_COOKIE)).toBe(false);
    scenario.stack.resetReceived();
    const response = await asApp(jar);
    expect(await response.json()).toEqual({ data: { me: { username: 'bob' } } });
    expect(scenario.stack.subgraphs.accounts.received[0]?.identity?.claims).toMatchObject({ sub: 'u2', amr: ['session'], pid: 'session:shop:u2' });
    const who = await fetch(`${gateway}/auth/session`, { headers: { cookie: jar.header(), origin: app } });
    expect(await who.json()).toMatchObject({ signedIn: true, subject: 'u2', name: 'bob' });
  });

  describe('a callback that must not sign anyone in', () => {
    const expectNoSession = async (response: Response, jar: Jar) => {
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ errors: [{ message: 'Sign-in could not be completed; start again', extensions: { code: 'BAD_REQUEST' } }] });
      expect(jar.cookies.has(COOKIE)).toBe(false);
    };

    it('reused: the same callback twice', async () => {
      const jar = new Jar();
      const callback = await authorize(jar);
      const login = jar.cookies.get(LOGIN_COOKIE)!;
      expect((await get(jar, callback)).status).toBe(303);
      const replay = new Jar();
      replay.cookies.set(LOGIN_COOKIE, login);
      await expectNoSession(await get(replay, callback), replay);
    });

    it('a wrong state', async () => {
      const jar = new Jar();
      const callback = new URL(await authorize(jar));
      callback.searchParams.set('state', 'forged-state');
      await expectNoSession(await get(jar, callback.href), jar);
    });

    it('without the login cookie (no PKCE verifier, no state to compare)', async () => {
      const jar = new Jar();
      const callback = await authorize(jar);
      jar.cookies.delete(LOGIN_COOKIE);
      await expectNoSession(await get(jar, callback), jar);
    });

    it("another sign-in's login cookie (its state and verifier do not match this code)", async () => {
      const first = new Jar();
      const callback = await authorize(first, 'alice');
      const second = new Jar();
      await get(second, `${gateway}/auth/login`);
      first.cookies.set(LOGIN_COOKIE, second.cookies.get(LOGIN_COOKIE)!);
      await expectNoSession(await get(first, callback), first);
    });

    it('an error from the provider, or no code at all', async () => {
      const jar = new Jar();
      await get(jar, `${gateway}/auth/login`);
      await expectNoSession(await get(jar, `${gateway}/auth/callback?error=access_denied&state=x`), jar);
      await get(jar, `${gateway}/auth/login`);
      await expectNoSession(await get(jar, `${gateway}/auth/callback`), jar);
    });
  });

  it.each(['//evil.example', '/\\evil.example', 'https://evil.example/', `${'http://127.0.0.1'}@evil.example/`, 'javascript:alert(1)', '%2F%2Fevil.example', '/orders'])(
    'refuses returnTo %j before anything else happens',
    async (returnTo) => {
      const response = await fetch(`${gateway}/auth/login?returnTo=${encodeURIComponent(returnTo)}`, { redirect: 'manual' });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ errors: [{ message: "returnTo must be a URL on one of the app's origins", extensions: { code: 'BAD_REQUEST' } }] });
      expect(response.headers.get('location')).toBeNull();
      expect(response.headers.getSetCookie()).toEqual([]);
    },
  );

  describe('cookie rules on GraphQL requests', () => {
    let jar: Jar;
    beforeAll(async () => {
      jar = await signIn('carol');
    });

    it.each<[string, () => Record<string, string>, string]>([
      ['without the CSRF header', () => ({ cookie: jar.header(), origin: app }), 'Cookie-authenticated requests must send the x-frontdesk-csrf header'],
      ['from another origin', () => ({ cookie: jar.header(), origin: 'http://localhost:4007', 'x-frontdesk-csrf': '1' }), "The session cookie is accepted only from the app's origins"],
      ['without an Origin', () => ({ cookie: jar.header(), 'x-frontdesk-csrf': '1' }), "The session cookie is accepted only from the app's origins"],
      ['with a 10 KB Origin', () => ({ cookie: jar.header(), origin: `http://${'a'.repeat(10_240)}`, 'x-frontdesk-csrf': '1' }), "The session cookie is accepted only from the app's origins"],
      ['beside a bearer token', () => ({ cookie: jar.header(), origin: app, 'x-frontdesk-csrf': '1', authorization: 'Bearer abc' }), 'Send exactly one credential'],
      ['twice', () => ({ cookie: `${jar.header()}; ${COOKIE}=${jar.cookies.get(COOKIE)}`, origin: app, 'x-frontdesk-csrf': '1' }), 'Send one session cookie'],
    ])('is refused %s: 401 invalid_request, before any lookup', async (_name, headers, description) => {
      scenario.stack.resetReceived();
      const response = await query(headers());
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="frontdesk", error="invalid_request", error_description="${description}"`);
      expect(await response.json()).toEqual({ errors: [{ message: description, extensions: { code: 'UNAUTHENTICATED' } }] });
      expect(response.headers.getSetCookie()).toEqual([]); // a refused request does not sign anyone out
      nothingRan();
      expect((await asApp(jar)).status).toBe(200); // the session itself is untouched
    });

    it.each([
      ['forged', () => 'A'.repeat(43)],
      ['truncated', () => jar.cookies.get(COOKIE)!.slice(0, 42)],
      ['padded', () => `${jar.cookies.get(COOKIE)!}=`],
      ['empty', () => ''],
      ['huge', () => 'A'.repeat(8_000)],
    ])('a %s cookie is an ended session: 401 session_ended, cookie cleared', async (_name, value) => {
      scenario.stack.resetReceived();
      const response = await query({ cookie: `${COOKIE}=${value()}`, origin: app, 'x-frontdesk-csrf': '1' });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ errors: [{ message: 'The session has ended; sign in again', extensions: { code: 'UNAUTHENTICATED', reason: 'session_ended' } }] });
      expect(response.headers.getSetCookie()).toEqual([`${COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`]);
      nothingRan();
    });
  });

  it('sign-out needs the app origin and the CSRF header, then ends the session and returns the provider logout URL', async () => {
    const jar = await signIn('alice');
    const forged = await fetch(`${gateway}/auth/logout`, { method: 'POST', headers: { cookie: jar.header(), origin: 'http://localhost:4007', 'x-frontdesk-csrf': '1' } });
    expect(forged.status).toBe(401);
    expect((await asApp(jar)).status).toBe(200);

    const response = await fetch(`${gateway}/auth/logout`, { method: 'POST', headers: { cookie: jar.header(), origin: app, 'x-frontdesk-csrf': '1' } });
    expect(response.status).toBe(200);
    const { signedOut, logoutUrl } = (await response.json()) as { signedOut: boolean; logoutUrl: string };
    expect(signedOut).toBe(true);
    const end = new URL(logoutUrl);
    expect(end.origin + end.pathname).toBe(`${scenario.idp.issuer}/session/end`);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${app}/`);
    expect(end.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(response.headers.getSetCookie()).toEqual([`${COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`]);
    const replay = await asApp(jar);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ errors: [{ extensions: { reason: 'session_ended' } }] });
  });

  it('the session routes answer wrong methods and unknown paths from the catalogue', async () => {
    expect((await fetch(`${gateway}/auth/logout`)).status).toBe(405);
    expect((await fetch(`${gateway}/auth/login`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${gateway}/auth/nope`)).status).toBe(404);
    expect((await fetch(`${gateway}/auth/__proto__`)).status).toBe(404);
  });
});
