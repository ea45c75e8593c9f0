// The cookie-session page: every call to the gateway sends the HttpOnly cookie (credentials: 'include')
// and, for GraphQL and sign-out, the x-frontdesk-csrf header the gateway requires of cookie requests.
import { loadConfig, QUERY, say, showResult } from './shared.js';

const { gateway } = await loadConfig();

async function refreshWho() {
  const response = await fetch(`${gateway}/auth/session`, { credentials: 'include' });
  const session = await response.json();
  say('who', session.signedIn ? `Signed in as ${session.name ?? session.subject}` : 'Not signed in');
}

async function query() {
  const response = await fetch(`${gateway}/graphql`, {
    method: 'POST',
    credentials: 'include',
    headers: { 'content-type': 'application/json', 'x-frontdesk-csrf': '1' },
    body: JSON.stringify({ query: QUERY }),
  });
  return { status: response.status, body: await response.json() };
}

function explain({ status, body }) {
  if (status === 200) return `Answered (HTTP 200) for ${body.data?.me?.username ?? 'an anonymous caller'}`;
  const reason = body.errors?.[0]?.extensions?.reason;
  if (reason === 'session_ended') return 'Your session has ended: sign in again';
  return `Refused (HTTP ${status}): ${body.errors?.[0]?.message ?? 'unknown error'}`;
}

document.getElementById('sign-in').addEventListener('click', () => {
  location.assign(`${gateway}/auth/login?returnTo=${encodeURIComponent(location.href)}`);
});

document.getElementById('run').addEventListener('click', async () => {
  say('outcome', 'Asking…');
  const result = await query();
  showResult(result.body);
  say('outcome', explain(result));
  if (result.status === 401) await refreshWho();
});

document.getElementById('run-many').addEventListener('click', async () => {
  say('outcome', 'Asking 5 times…');
  const results = await Promise.all([0, 1, 2, 3, 4].map(() => query()));
  const answered = results.filter((result) => result.status === 200 && !result.body.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED' && !e.path));
  showResult(results[0].body);
  say('outcome', `${answered.length} of 5 answered for ${results[0].body.data?.me?.username ?? 'an anonymous caller'}`);
});

document.getElementById('sign-out').addEventListener('click', async () => {
  const response = await fetch(`${gateway}/auth/logout`, { method: 'POST', credentials: 'include', headers: { 'x-frontdesk-csrf': '1' } });
  const { logoutUrl } = await response.json();
  // RP-initiated logout: the provider's session cookie lives in this browser, so the browser goes there.
  if (logoutUrl) location.assign(logoutUrl);
  else await refreshWho();
});

await refreshWho();
