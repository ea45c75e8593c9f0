/**
 * Session logic (gateway/session/sessions.ts) with a scripted provider and a frozen clock: one refresh per
 * session however many requests wait, rotation honoured, a refused refresh ends the session, an unreachable
 * provider is a 503 only once the token has really expired; pending sign-ins are used once.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../gateway/config/load.ts';
import type { SessionsConfig } from '../../../gateway/config/types.ts';
import { AuthError } from '../../../gateway/errors.ts';
import { createLogger } from '../../../gateway/log.ts';
import { ProviderRefusedError, ProviderUnavailableError, type ProviderTokens, type SessionProvider } from '../../../gateway/session/provider.ts';
import { createSessions, LoginError, storeKey } from '../../../gateway/session/sessions.ts';
import { createMemoryStore, type PendingLogin, type SessionRecord } from '../../../gateway/session/store.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

const IDP = 'http://127.0.0.1:4005';
const config = parseConfig(
  {
    supergraph: SUPERGRAPH,
    auth: { jwt: [{ issuer: IDP, audience: ['api'] }] },
    identity: { issuer: 'https://gw', keys: [{ file: '/k.json' }], devKeys: true },
    cors: { origins: ['http://127.0.0.1:4006'], credentials: true },
    sessions: { issuer: IDP, clientId: 'bff', clientSecret: 's', redirectUri: 'http://127.0.0.1:4000/auth/callback', refreshBefore: '30s', maxAge: '1h', idleTimeout: '10m' },
  },
  { env: {} },
).sessions as SessionsConfig;

function setup() {
  let clock = 1_000_000;
  const calls = { refresh: [] as string[], exchange: 0 };
  let refreshOutcome: 'ok' | 'refused' | 'down' = 'ok';
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  const tokens = (n: number): ProviderTokens => ({ accessToken: `at-${n}`, refreshToken: `rt-${n}`, idToken: 'id', expiresIn: 300, subject: 'u2', name: 'bob' });
  const provider: SessionProvider = {
    authorizationUrl: async ({ state }) => new URL(`${IDP}/auth?state=${state}`),
    exchangeCode: async () => {
      calls.exchange++;
      return tokens(0);
    },
    refresh: async (refreshToken) => {
      calls.refresh.push(refreshToken);
      await gate;
      if (refreshOutcome === 'refused') throw new ProviderRefusedError('invalid_grant: 400');
      if (refreshOutcome === 'down') throw new ProviderUnavailableError('fetch failed');
      return { ...tokens(calls.refresh.length), subject: undefined, name: undefined };
    },
    endSessionUrl: async () => new URL(`${IDP}/session/end`),
  };
  const store = createMemoryStore<SessionRecord>({ maxEntries: 10, now: () => clock });
  const pending = createMemoryStore<PendingLogin>({ maxEntries: 10, now: () => clock });
  const sessions = createSessions({ config, provider, store, pending, log: createLogger({ level: 'silent' }), now: () => clock });
  const signIn = async () => {
    const { loginId } = await sessions.startLogin('http://127.0.0.1:4006/');
    return (await sessions.completeLogin(loginId, new URL('http://127.0.0.1:4000/auth/callback?code=c&state=s'))).sessionId;
  };
  return {
    sessions,
    store,
    calls,
    signIn,
    advance: (ms: number) => void (clock += ms),
    refreshes: (outcome: typeof refreshOutcome) => void (refreshOutcome = outcome),
    hold: () => void (gate = new Promise<void>((resolve) => (release = resolve))),
    release: () => release(),
  };
}

const ended = { code: 'UNAUTHENTICATED', clientReason: 'session_ended' };

describe('sessions', () => {
  it('a sign-in stores the tokens under a digest of the cookie, never the cookie itself', async () => {
    const { signIn, sessions, store } = setup();
    const id = await signIn();
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await store.get(id)).toBeUndefined();
    expect(await store.get(storeKey(id))).toMatchObject({ accessToken: 'at-0', refreshToken: 'rt-0', subject: 'u2' });
    expect(await sessions.accessToken(id)).toBe('at-0');
  });

  it('a pending sign-in completes once: the same login id again is refused', async () => {
    const { sessions } = setup();
    const { loginId } = await sessions.startLogin('http://127.0.0.1:4006/');
    const callback = new URL('http://127.0.0.1:4000/auth/callback?code=c&state=s');
    await sessions.completeLogin(loginId, callback);
    await expect(sessions.completeLogin(loginId, callback)).rejects.toMatchObject({ name: 'LoginError', kind: 'refused' });
    await expect(sessions.completeLogin(undefined, callback)).rejects.toBeInstanceOf(LoginError);
  });

  it('refreshes once per session for any number of concurrent requests, using the rotated refresh token next time', async () => {
    const { signIn, sessions, calls, advance, hold, release } = setup();
    const id = await signIn();
    advance(271_000); // within refreshBefore (30 s) of the 300 s lifetime
    hold();
    const waiting = Array.from({ length: 8 }, () => sessions.accessToken(id));
    release();
    expect(await Promise.all(waiting)).toEqual(Array(8).fill('at-1'));
    expect(calls.refresh).toEqual(['rt-0']);
    advance(271_000);
    expect(await sessions.accessToken(id)).toBe('at-2');
    expect(calls.refresh).toEqual(['rt-0', 'rt-1']);
  });

  it('a refused refresh ends the session: 401 session_ended, and it stays ended', async () => {
    const { signIn, sessions, advance, refreshes } = setup();
    const id = await signIn();
    refreshes('refused');
    advance(290_000);
    await expect(sessions.accessToken(id)).rejects.toMatchObject(ended);
    refreshes('ok');
    await expect(sessions.accessToken(id)).rejects.toMatchObject(ended);
    expect(await sessions.describe(id)).toBeUndefined();
  });

  it('an unreachable provider: the current token while it lasts, then 503 — the session is kept', async () => {
    const { signIn, sessions, advance, refreshes, calls } = setup();
    const id = await signIn();
    refreshes('down');
    advance(290_000);
    expect(await sessions.accessToken(id)).toBe('at-0');
    advance(1_000);
    expect(await sessions.accessToken(id)).toBe('at-0'); // no new attempt within 5 s
    advance(20_000); // past exp
    const error = await sessions.accessToken(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'AUTH_UNAVAILABLE' });
    refreshes('ok');
    expect(await sessions.accessToken(id)).toBe('at-3');
    expect(calls.refresh).toHaveLength(3); // down, down (after the token expired), ok
  });

  it('ends after the idle timeout and after maxAge, whatever the use', async () => {
    const { signIn, sessions, advance } = setup();
    const idle = await signIn();
    advance(601_000);
    await expect(sessions.accessToken(idle)).rejects.toMatchObject(ended);

    const busy = await signIn();
    for (let i = 0; i < 7; i++) {
      advance(540_000);
      await sessions.accessToken(busy).catch(() => undefined);
    }
    // 63 minutes of steady use: past maxAge (1 h).
    await expect(sessions.accessToken(busy)).rejects.toMatchObject(ended);
  });

  it('signing out forgets the session and hands back the provider logout URL', async () => {
    const { signIn, sessions } = setup();
    const id = await signIn();
    expect((await sessions.end(id))?.href).toBe(`${IDP}/session/end`);
    await expect(sessions.accessToken(id)).rejects.toMatchObject(ended);
  });
});
