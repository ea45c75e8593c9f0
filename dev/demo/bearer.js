// The bearer-token page: a public OIDC client in the browser (RFC 9700 §2.1.1: code + PKCE), tokens in
// sessionStorage for this tab only, and the client side of "expired vs invalid": refresh once on
// extensions.reason === 'token_expired', then retry.
import { loadConfig, QUERY, say, showResult } from './shared.js';

const { gateway, issuer, spaClientId, resource } = await loadConfig();
const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
const redirectUri = new URL('bearer.html', location.href).href;
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
let tokens = JSON.parse(sessionStorage.getItem('tokens') ?? 'null');

function keep(next) {
  tokens = next;
  sessionStorage.setItem('tokens', JSON.stringify(next));
}

function log(text) {
  const item = document.createElement('li');
  item.textContent = text;
  document.getElementById('log').append(item);
}

async function tokenRequest(params) {
  const response = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: spaClientId, ...params }),
  });
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
  return response.json();
}

document.getElementById('sign-in').addEventListener('click', async () => {
  const verifier = random();
  const state = random();
  sessionStorage.setItem('login', JSON.stringify({ verifier, state }));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: spaClientId, response_type: 'code', redirect_uri: redirectUri, state,
    scope: 'openid offline_access profile products:read inventory:read reviews:write',
    code_challenge: challenge, code_challenge_method: 'S256', ...(resource ? { resource } : {}),
  }).toString();
  location.assign(url.href);
});

async function callGateway() {
  const response = await fetch(`${gateway}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.access_token}` },
    body: JSON.stringify({ query: QUERY }),
  });
  const body = await response.json();
  log(`HTTP ${response.status}${response.status === 401 ? ` — ${response.headers.get('www-authenticate')}` : ''}`);
  return { status: response.status, body };
}

document.getElementById('run').addEventListener('click', async () => {
  if (!tokens) return say('outcome', 'Sign in first');
  say('outcome', 'Asking…');
  let result = await callGateway();
  if (result.status === 401 && result.body.errors?.[0]?.extensions?.reason === 'token_expired' && tokens.refresh_token) {
    try {
      keep(await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }));
    } catch (error) {
      log(`Refresh failed: ${error.message}`);
      return say('outcome', 'Signed out: the refresh was refused');
    }
    log('Refreshed the access token');
    result = await callGateway();
  }
  showResult(result.body);
  say('outcome', result.status === 200 ? `Answered (HTTP 200) for ${result.body.data?.me?.username ?? 'an anonymous caller'}` : `Refused (HTTP ${result.status})`);
});

// Back from the provider: check state, exchange the code with the verifier, forget both.
const params = new URLSearchParams(location.search);
if (params.has('code')) {
  const login = JSON.parse(sessionStorage.getItem('login') ?? 'null');
  sessionStorage.removeItem('login');
  history.replaceState(null, '', redirectUri);
  if (!login || params.get('state') !== login.state) {
    say('outcome', 'Sign-in refused: state does not match');
  } else {
    keep(await tokenRequest({ grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri, code_verifier: login.verifier }));
  }
}
if (tokens) {
  const claims = JSON.parse(atob(tokens.id_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  say('who', `Signed in as ${claims.preferred_username ?? claims.sub} (bearer token)`);
}
