/**
 * `npm run token -- <user> [--opaque]`: prints an access token for a demo user from the local issuer that
 * `npm start` runs (FRONTDESK_DEV_ISSUER_URL, default http://127.0.0.1:4005): a JWT, or with --opaque an
 * opaque token the gateway introspects.
 */
import { DEMO_USERS } from '../dev/users.ts';

const user = process.argv[2];
const format = process.argv[3] === '--opaque' ? 'opaque' : 'jwt';
if (!user || !DEMO_USERS[user]) {
  process.stderr.write(`usage: npm run token -- <user> [--opaque]\n\nusers:\n${Object.entries(DEMO_USERS).map(([name, u]) => `  ${name.padEnd(6)} ${u.description} (scope: ${u.scope})`).join('\n')}\n`);
  process.exit(2);
}
const issuer = process.env.FRONTDESK_DEV_ISSUER_URL ?? 'http://127.0.0.1:4005';
try {
  const response = await fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, format }) });
  const body = (await response.json()) as { access_token?: string; error_description?: string };
  if (!body.access_token) throw new Error(body.error_description ?? `HTTP ${response.status}`);
  process.stdout.write(`${body.access_token}\n`);
} catch (error) {
  process.stderr.write(`cannot get a token from ${issuer}: ${(error as Error).message}\nIs the local stack running (npm start)?\n`);
  process.exit(1);
}
