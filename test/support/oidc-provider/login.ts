/**
 * The harness's sign-in for people (authorization code flow): a plain HTML login form with labelled
 * fields that a browser test fills in like a user, checked against the demo users below; consent is
 * implied for every client (first-party apps), through loadExistingGrant.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEMO_USERS } from '../../../dev/users.ts';

/** Username → password of the people who can sign in (the local stack's demo users). */
export const USER_PASSWORDS: Record<string, string> = { alice: 'alice-password', bob: 'bob-password', carol: 'carol-password' };

/** The account of a username: sub (the shop's user id), roles, API scopes, org. */
export function accountOf(username: string): { sub: string; username: string; roles: string[]; scope: string; orgId: string } | undefined {
  const user = Object.hasOwn(DEMO_USERS, username) ? DEMO_USERS[username] : undefined;
  return user && { sub: user.sub, username, roles: [...user.roles], scope: user.scope, orgId: user.org_id };
}

export function accountById(sub: string): ReturnType<typeof accountOf> {
  const name = Object.keys(DEMO_USERS).find((candidate) => DEMO_USERS[candidate]!.sub === sub);
  return name === undefined ? undefined : accountOf(name);
}

interface InteractionProvider {
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string }; params: Record<string, unknown> }>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
}

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: ServerResponse, status: number, uid: string, clientId: string, error?: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Shop IdP</title></head>
<body>
  <main>
    <h1>Sign in to the shop</h1>
    <p>${escape(clientId)} wants to know who you are.</p>
    ${error ? `<p role="alert">${escape(error)}</p>` : ''}
    <form method="post" action="/interaction/${escape(uid)}/login">
      <label>Username <input name="username" autocomplete="username" required></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Sign in</button>
    </form>
  </main>
</body></html>`);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 4_096) break;
  }
  return new URLSearchParams(raw);
}

/** Handles `/interaction/<uid>` (the form) and `/interaction/<uid>/login` (its POST); false for other paths. */
export async function handleInteraction(provider: InteractionProvider, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(pathname);
  if (!match) return false;
  const details = await provider.interactionDetails(req, res);
  const clientId = String(details.params.client_id ?? '');
  if (details.prompt.name !== 'login') {
    // Consent is granted by loadExistingGrant; any other prompt just continues.
    await provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
    return true;
  }
  if (req.method === 'GET' && !match[2]) {
    page(res, 200, details.uid, clientId);
    return true;
  }
  if (req.method === 'POST' && match[2]) {
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const account = accountOf(username);
    if (!account || USER_PASSWORDS[username] !== form.get('password')) {
      page(res, 401, details.uid, clientId, 'Wrong username or password');
      return true;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    return true;
  }
  res.writeHead(405).end();
  return true;
}
