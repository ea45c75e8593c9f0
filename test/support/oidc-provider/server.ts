/**
 * Child-process entry of the oidc-provider test harness (see ./client.ts for
 * the fixed clients/audience and for how to start it from tests).
 *
 *   node --conditions=source --import tsx test/support/oidc-provider/server.ts
 *
 * Prints `{"issuer":"http://127.0.0.1:<port>","port":<port>}` on stdout once
 * listening. Everything else goes to stderr.
 *
 * The local stack (`npm start`) runs this same provider as its sign-in IdP on :4007 (dev/idp.ts), with
 * OIDC_HARNESS_PORT (default 0: any free port) and OIDC_HARNESS_ADMIN=0 (no admin API).
 *
 * Admin endpoints (test only, no auth; off with OIDC_HARNESS_ADMIN=0):
 *   POST /__admin/rotate      {"keep_old": bool}            -> {"kid": "<kid now signing access tokens>"}
 *   GET  /__admin/stats                                     -> {"jwks_requests": n, "discovery_requests": n}
 *   POST /__admin/reset-stats
 *   POST /__admin/set-down    {"down": bool, "delayMs"?: n}
 *   POST /__admin/config      {"accessTokenAlg"?: "RS256"|"ES256", "accessTokenTTLSeconds"?: n}
 *   GET  /__admin/grants                                    -> {"refresh_token": {"<sub>": n}, "authorization_code": {...}, "refresh_token_refused": {...}}
 *
 * People sign in through /interaction/<uid> (./login.ts): alice, bob and carol, password `<name>-password`.
 * Extra clients (authorization code + refresh, e.g. a BFF or a single-page app) come from the JSON array in
 * OIDC_HARNESS_CLIENTS (startOidcProvider({ clients })).
 *
 * Tokens for OPAQUE_AUDIENCE are opaque; /token/introspection (RFC 7662) serves the introspection clients
 * (INTROSPECTION_CLIENT, and INTROSPECTION_JWT_CLIENT_ID when the parent passes its JWKS).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import {
  ALLOWED_SCOPES,
  API_SCOPES,
  AUDIENCE,
  DEMO_CLIENTS,
  INTERNAL_REQUEST_HEADER,
  INTROSPECTION_CLIENT,
  INTROSPECTION_JWT_CLIENT_ID,
  OPAQUE_AUDIENCE,
  OTHER_AUDIENCE,
  type SigningAlg,
} from './client.ts';
import { accountById, handleInteraction } from './login.ts';

// oidc-provider logs its notices with console.info, i.e. to stdout, and stdout
// is reserved for the single ready line the parent waits for.
console.info = console.error;
console.log = console.error;

// oidc-provider ships no type declarations (and @types/oidc-provider is not a
// dependency). A non-literal specifier makes the import `any`; the small
// interfaces below describe the only parts this file touches.
interface Provider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: string, listener: (ctx: GrantContext, err: Error) => void): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string }; params: Record<string, unknown> }>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
}
interface GrantContext {
  oidc: { params?: Record<string, unknown>; entities: { RefreshToken?: { accountId?: string }; AuthorizationCode?: { accountId?: string }; Account?: { accountId?: string } } };
}
interface GrantLike {
  addOIDCScope(scope: string): void;
  addResourceScope(resource: string, scope: string): void;
  rejectResourceScope(resource: string, scope: string): void;
  rejectOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface ExistingGrantContext {
  oidc: {
    client: { clientId: string };
    session: { accountId: string; grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
    provider: { Grant: { new (init: { clientId: string; accountId: string }): GrantLike; find(id: string): Promise<GrantLike | undefined> } };
  };
}
interface OidcProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => Provider;
  errors: { InvalidTarget: new (description?: string) => Error };
}
const oidcProviderSpecifier: string = 'oidc-provider';
const { default: Provider, errors } = (await import(oidcProviderSpecifier)) as OidcProviderModule;

const JWKS_PATH = '/jwks';
/** The admin API; off for the local stack's IdP (dev/idp.ts sets OIDC_HARNESS_ADMIN=0). */
const ADMIN = process.env.OIDC_HARNESS_ADMIN !== '0';
const DISCOVERY_PATH = '/.well-known/openid-configuration';
const SIGNING_ALGS: readonly SigningAlg[] = ['RS256', 'ES256'];

/** Resource servers known to the provider, keyed by resource indicator. */
const RESOURCE_SERVERS: Record<string, { scope: string }> = {
  [AUDIENCE]: { scope: API_SCOPES.join(' ') },
  [OTHER_AUDIENCE]: { scope: API_SCOPES.join(' ') },
  [OPAQUE_AUDIENCE]: { scope: API_SCOPES.join(' ') },
};

/** Public JWKS of the private_key_jwt introspection client, given by the parent (client.ts). */
const introspectionClientJwks = process.env.OIDC_HARNESS_INTROSPECTION_CLIENT_JWKS
  ? (JSON.parse(process.env.OIDC_HARNESS_INTROSPECTION_CLIENT_JWKS) as { keys: JWK[] })
  : undefined;

// ---- mutable state that must survive provider re-creation ------------------

/** Private JWKs; newest generation first (keystore picks the first match per alg). */
let signingKeys: JWK[] = [];
let keyGeneration = 0;
let accessTokenAlg: SigningAlg = 'RS256';
let accessTokenTTLSeconds = 300;
const stats = { jwks_requests: 0, discovery_requests: 0 };
let down = false;
let delayMs = 0;
let providerHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

// ---- keys & provider --------------------------------------------------------

/** One key per supported alg, so switching accessTokenAlg never needs a rotation. */
async function generateKeyGeneration(): Promise<Record<SigningAlg, JWK>> {
  keyGeneration += 1;
  const generation = {} as Record<SigningAlg, JWK>;
  for (const alg of SIGNING_ALGS) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    generation[alg] = {
      ...(await exportJWK(privateKey)),
      kid: `${alg.toLowerCase()}-g${keyGeneration}-${randomUUID().slice(0, 8)}`,
      alg,
      use: 'sig',
    };
  }
  return generation;
}

/** Clients for people (authorization code + refresh), from the parent: see startOidcProvider({ clients }). */
const PEOPLE_CLIENTS: Array<Record<string, unknown>> = JSON.parse(process.env.OIDC_HARNESS_CLIENTS ?? '[]') as Array<Record<string, unknown>>;
/** Scopes people's clients may ask for besides the API scopes. */
const PEOPLE_SCOPES = ['openid', 'offline_access', 'profile'];

/** Counted grants per grant type and account (`sub`): what tests assert refresh single flight on. */
const grants: Record<string, Record<string, number>> = { refresh_token: {}, authorization_code: {}, refresh_token_refused: {} };
function countGrant(kind: string, ctx: GrantContext): void {
  const { entities } = ctx.oidc;
  const account = entities.RefreshToken?.accountId ?? entities.AuthorizationCode?.accountId ?? entities.Account?.accountId ?? '?';
  const counts = (grants[kind] ??= {});
  counts[account] = (counts[account] ?? 0) + 1;
}

let currentProvider: Provider | undefined;

function createProvider(issuer: string, keys: JWK[]): Provider {
  const provider = new Provider(issuer, {
    clients: [
      ...PEOPLE_CLIENTS.map((client) => ({ grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope: [...PEOPLE_SCOPES, ...API_SCOPES].join(' '), ...client })),
      ...Object.entries(DEMO_CLIENTS).map(([clientId, { secret }]) => ({
      client_id: clientId,
      client_secret: secret,
      grant_types: ['client_credentials'],
      // No authorization-endpoint usage, hence no redirect_uris are needed.
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: ALLOWED_SCOPES.join(' '),
    })),
      // The resource server's own clients: they only introspect.
      {
        client_id: INTROSPECTION_CLIENT.clientId,
        client_secret: INTROSPECTION_CLIENT.secret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      ...(introspectionClientJwks
        ? [
            {
              client_id: INTROSPECTION_JWT_CLIENT_ID,
              grant_types: [],
              response_types: [],
              redirect_uris: [],
              token_endpoint_auth_method: 'private_key_jwt',
              token_endpoint_auth_signing_alg: 'ES256',
              jwks: introspectionClientJwks,
            },
          ]
        : []),
    ],
    // The provider copies the keys into its own keystore at construction; later
    // changes to signingKeys only take effect through a new Provider instance.
    jwks: { keys: structuredClone(keys) },
    scopes: [...new Set([...ALLOWED_SCOPES, ...PEOPLE_SCOPES])],
    routes: { jwks: JWKS_PATH },
    cookies: { keys: ['oidc-harness-cookie-key'] },
    // Scope claims (preferred_username) in the ID token too, so a client needs no userinfo call.
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], profile: ['preferred_username'] },
    findAccount: (_ctx: unknown, sub: string) => {
      const account = accountById(sub);
      return account && { accountId: sub, claims: () => ({ sub, preferred_username: account.username }) };
    },
    // First-party clients: consent is implied, with the API scopes this person has (and no more).
    loadExistingGrant: async (ctx: ExistingGrantContext) => {
      const { client, session, result, provider: current } = ctx.oidc;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (grantId) return current.Grant.find(grantId);
      const account = accountById(session.accountId);
      const grant = new current.Grant({ clientId: client.clientId, accountId: session.accountId });
      // The API scopes are also provider scopes here (the client_credentials clients request them), so they
      // are granted or rejected on both lists. Rejected, not just absent: no consent prompt asks again.
      const own = account ? account.scope.split(' ') : [];
      grant.addOIDCScope([...PEOPLE_SCOPES, ...own].join(' '));
      if (own.length > 0) grant.addResourceScope(AUDIENCE, own.join(' '));
      const others = API_SCOPES.filter((scope) => !own.includes(scope));
      if (others.length > 0) {
        grant.rejectOIDCScope(others.join(' '));
        grant.rejectResourceScope(AUDIENCE, others.join(' '));
      }
      await grant.save();
      return grant;
    },
    pkce: { required: () => true },
    // Every client allowed the refresh_token grant gets one (not only with offline_access + prompt=consent),
    // and every refresh rotates it: a refresh token is good for one refresh.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    features: {
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: { body: string }, form: string) => {
          ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign out · Shop IdP</title></head>
<body><main><h1>Sign out of the shop?</h1>${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button></main></body></html>`;
        },
        postLogoutSuccessSource: (ctx: { body: string }) => {
          ctx.body = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body><h1>You are signed out</h1></body></html>';
        },
      },
      // OpenID Connect Back-Channel Logout 1.0: a client registered with backchannel_logout_uri gets a
      // logout token when the person signs out here (and `sid` in its ID tokens with
      // backchannel_logout_session_required).
      backchannelLogout: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      // No login UI is ever used; disabling it also silences its startup warning.
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // Without a resource, client_credentials would mint an opaque token.
        defaultResource: () => AUDIENCE,
        // The authorization code and refresh grants mint access tokens for the resource that was granted.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
          const server = RESOURCE_SERVERS[resourceIndicator];
          if (!server) throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          return {
            scope: server.scope,
            audience: resourceIndicator,
            accessTokenFormat: resourceIndicator === OPAQUE_AUDIENCE ? 'opaque' : 'jwt',
            accessTokenTTL: accessTokenTTLSeconds,
            jwt: { sign: { alg: accessTokenAlg } },
          };
        },
      },
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId?: string; accountId?: string }) => {
      if (token.accountId) {
        const account = accountById(token.accountId);
        return account ? { roles: account.roles, org_id: account.orgId } : undefined;
      }
      const demo = DEMO_CLIENTS[token.clientId as keyof typeof DEMO_CLIENTS];
      return demo ? { roles: [...demo.roles], org_id: demo.orgId } : undefined;
    },
    // Outgoing requests (back-channel logout tokens) go to relying parties on loopback, which the
    // provider's SSRF guard (a dispatcher refusing special-use addresses) would refuse: not here.
    fetch: (url: string, { dispatcher: _guard, ...options }: RequestInit & { dispatcher?: unknown }) => globalThis.fetch(url, options),
    // Explicit TTLs: the defaults are functions that log "you SHOULD change" notices.
    ttl: {
      AccessToken: () => accessTokenTTLSeconds,
      ClientCredentials: () => accessTokenTTLSeconds,
      AuthorizationCode: 60,
      IdToken: 3_600,
      RefreshToken: 86_400,
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));
  provider.on('backchannel.error', (_ctx, err) => console.error('oidc-provider backchannel.error:', err));
  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc.params?.grant_type;
    if (type === 'refresh_token' || type === 'authorization_code') countGrant(type, ctx);
  });
  provider.on('grant.error', (ctx) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') countGrant('refresh_token_refused', ctx);
  });
  currentProvider = provider;
  return provider;
}

// ---- HTTP front: counters, outage simulation, admin API ---------------------

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(400, 'body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

async function handleAdmin(
  issuer: string,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const route = `${req.method} ${path}`;
  switch (route) {
    case 'POST /__admin/rotate': {
      const { keep_old: keepOld } = await readJson(req);
      if (typeof keepOld !== 'boolean') throw new HttpError(400, 'keep_old must be a boolean');
      const generation = await generateKeyGeneration();
      const fresh = SIGNING_ALGS.map((alg) => generation[alg]);
      const nextKeys = keepOld ? [...fresh, ...signingKeys] : fresh;
      // Build first, swap after: a failing construction leaves the old state intact.
      const provider = createProvider(issuer, nextKeys);
      signingKeys = nextKeys;
      providerHandler = provider.callback();
      return sendJson(res, 200, { kid: generation[accessTokenAlg].kid });
    }
    case 'GET /__admin/stats':
      return sendJson(res, 200, stats);
    case 'GET /__admin/grants':
      return sendJson(res, 200, grants);
    case 'POST /__admin/reset-stats':
      stats.jwks_requests = 0;
      stats.discovery_requests = 0;
      for (const kind of Object.keys(grants)) grants[kind] = {};
      return sendJson(res, 200, stats);
    case 'POST /__admin/set-down': {
      const body = await readJson(req);
      if (typeof body.down !== 'boolean') throw new HttpError(400, 'down must be a boolean');
      const delay = body.delayMs ?? 0;
      if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
        throw new HttpError(400, 'delayMs must be a non-negative number');
      }
      down = body.down;
      delayMs = delay;
      return sendJson(res, 200, { down, delayMs });
    }
    case 'POST /__admin/config': {
      const body = await readJson(req);
      if (body.accessTokenAlg !== undefined) {
        if (!SIGNING_ALGS.includes(body.accessTokenAlg as SigningAlg)) {
          throw new HttpError(400, `accessTokenAlg must be one of ${SIGNING_ALGS.join(', ')}`);
        }
        accessTokenAlg = body.accessTokenAlg as SigningAlg;
      }
      if (body.accessTokenTTLSeconds !== undefined) {
        const ttl = body.accessTokenTTLSeconds;
        if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0) {
          throw new HttpError(400, 'accessTokenTTLSeconds must be a positive integer');
        }
        accessTokenTTLSeconds = ttl;
      }
      return sendJson(res, 200, { accessTokenAlg, accessTokenTTLSeconds });
    }
    default:
      throw new HttpError(404, `no admin route ${route}`);
  }
}

async function handleRequest(issuer: string, req: IncomingMessage, res: ServerResponse) {
  const { pathname } = new URL(req.url ?? '/', issuer);

  if (pathname.startsWith('/__admin/') && ADMIN) {
    try {
      await handleAdmin(issuer, pathname, req, res);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) console.error('admin request failed:', err);
      sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
    }
    return;
  }

  // Counted on arrival, so attempts made while "down" show up too: tests can
  // assert how hard a client hammers an unreachable IdP.
  if (req.method === 'GET' && req.headers[INTERNAL_REQUEST_HEADER] === undefined) {
    if (pathname === JWKS_PATH) stats.jwks_requests += 1;
    else if (pathname === DISCOVERY_PATH) stats.discovery_requests += 1;
  }

  if (delayMs > 0) await sleep(delayMs);
  // Checked after the delay too, so set-down also hits requests already waiting.
  if (down) {
    // No HTTP response at all: the client sees a reset connection, like an
    // unreachable IdP (as opposed to a reachable one answering 5xx).
    req.socket.destroy();
    return;
  }
  if (currentProvider && (await handleInteraction(currentProvider, pathname, req, res))) return;
  if (!providerHandler) {
    sendJson(res, 503, { error: 'provider not initialised yet' });
    return;
  }
  providerHandler(req, res);
}

// ---- startup / shutdown -----------------------------------------------------

let issuer = '';
const server = createServer((req, res) => {
  handleRequest(issuer, req, res).catch((err: unknown) => {
    console.error('request handling failed:', err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal harness error' });
    else res.destroy();
  });
});

await new Promise<void>((resolveListen, rejectListen) => {
  server.once('error', rejectListen);
  server.listen(Number(process.env.OIDC_HARNESS_PORT ?? 0), '127.0.0.1', () => resolveListen());
});
const address = server.address();
if (address === null || typeof address === 'string') throw new Error('unexpected server address');
const { port } = address;
// Must be exactly this (no trailing slash): tokens' `iss` and the discovery
// `issuer` are derived from it and resource servers compare it verbatim.
issuer = `http://127.0.0.1:${port}`;

const initial = await generateKeyGeneration();
signingKeys = SIGNING_ALGS.map((alg) => initial[alg]);
providerHandler = createProvider(issuer, signingKeys).callback();

let shuttingDown = false;
function shutdown(): void {
  if (shuttingDown) return;
  shuttingDown = true;
  server.close(() => process.exit(0));
  // close() alone waits for idle keep-alive connections of the parent's fetch.
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

if (process.env.OIDC_HARNESS_EXIT_ON_STDIN_END) {
  // The parent holds our stdin open; EOF means it went away without stop().
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.resume();
}

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
