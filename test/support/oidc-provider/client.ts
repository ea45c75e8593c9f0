/**
 * Test harness: a real `oidc-provider` running in a child process.
 *
 * Usage (vitest, parent process):
 *
 *   const idp = await startOidcProvider();
 *   const token = await idp.token('alice-client');   // JWT access token (typ at+jwt)
 *   // ... point the gateway at idp.issuer / idp.jwksUri, audience idp.audience ...
 *   await idp.stop();
 *
 * Fixed values (also exported below, so tests need not hard-code them):
 *
 *   - Resource indicator / audience: `https://shop-api.example/` (AUDIENCE).
 *     oidc-provider only accepts absolute URIs as RFC 8707 resource indicators,
 *     so a bare `shop-api` is rejected with invalid_target. Tokens are issued
 *     with `aud` exactly equal to this string (not an array).
 *     A second resource, `https://other-api.example/` (OTHER_AUDIENCE), exists
 *     so tests can mint validly signed tokens for the wrong audience.
 *   - Clients (client_credentials only, client_secret_basic):
 *       alice-client / alice-secret  roles ["admin"]     org_id "acme"
 *       bob-client   / bob-secret    roles ["customer"]  org_id "acme"
 *       carol-client / carol-secret  roles ["customer"]  org_id "globex"
 *   - Scopes: the clients may request `openid products:read inventory:read
 *     reviews:write`; the access token's `scope` only ever contains the API
 *     scopes (oidc-provider filters requested scopes down to the resource
 *     server's scopes, so `openid` is silently dropped). token() requests all
 *     API scopes unless `scope` is given; pass `scope: ''` for no scope at all.
 *   - `sub` is the client_id (oidc-provider's default for client_credentials).
 *   - Access tokens are signed RS256 by default, TTL 300 s; both can be
 *     changed at runtime with configure(). The JWKS always holds one RS256 and
 *     one ES256 key per key generation; rotate() adds a new generation.
 *
 * The child is started with `node --conditions=source --import tsx server.ts` using the project
 * root as cwd (that is where `tsx` resolves from). It prints one JSON line
 * `{"issuer":"http://127.0.0.1:<port>","port":<port>}` on stdout when ready.
 * Set OIDC_HARNESS_DEBUG=1 to mirror the child's stderr to the parent's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TSX_NODE_ARGS } from '../../../dev/node-args.ts';

export const AUDIENCE = 'https://shop-api.example/';
export const OTHER_AUDIENCE = 'https://other-api.example/';
/** A resource server whose access tokens are opaque (introspected, RFC 7662) rather than JWTs. */
export const OPAQUE_AUDIENCE = 'https://opaque-api.example/';
/** The client the gateway introspects with (client_secret_basic). */
export const INTROSPECTION_CLIENT = { clientId: 'frontdesk-gateway', secret: 'gateway-secret' } as const;
/** The client the gateway introspects with by private_key_jwt; its public key is given at start. */
export const INTROSPECTION_JWT_CLIENT_ID = 'frontdesk-gateway-jwt';

/** Scopes understood by the shop API resource server (and put into tokens). */
export const API_SCOPES = ['products:read', 'inventory:read', 'reviews:write'] as const;
/** Every scope the clients are allowed to request. */
export const ALLOWED_SCOPES = ['openid', ...API_SCOPES] as const;

/** Demo "users": each is a confidential client whose tokens carry roles/org_id. */
export const DEMO_CLIENTS = {
  'alice-client': { secret: 'alice-secret', roles: ['admin'], orgId: 'acme' },
  'bob-client': { secret: 'bob-secret', roles: ['customer'], orgId: 'acme' },
  'carol-client': { secret: 'carol-secret', roles: ['customer'], orgId: 'globex' },
} as const satisfies Record<string, { secret: string; roles: readonly string[]; orgId: string }>;

export type DemoClientId = keyof typeof DEMO_CLIENTS;
export type SigningAlg = 'RS256' | 'ES256';

/**
 * Requests carrying this header are not counted in /__admin/stats, so the
 * harness's own discovery lookup does not skew the numbers tests assert on.
 */
export const INTERNAL_REQUEST_HEADER = 'x-oidc-harness-internal';

export interface OidcProviderStats {
  jwks_requests: number;
  discovery_requests: number;
}

/** Successful grants per account (`sub`): `refresh_token`, `authorization_code`; refused refreshes. */
export interface OidcProviderGrants {
  refresh_token: Record<string, number>;
  authorization_code: Record<string, number>;
  refresh_token_refused: Record<string, number>;
}

/**
 * A client people sign in with (authorization code + PKCE, refresh tokens that rotate), registered at
 * start: a confidential BFF (`client_secret` + `token_endpoint_auth_method: client_secret_basic`) or a
 * public single-page app (`token_endpoint_auth_method: none`; the token endpoint answers CORS for the
 * origins of its redirect URIs).
 */
export interface PeopleClient {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'none';
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  /** OpenID Connect Back-Channel Logout 1.0 §2.2: where the provider posts logout tokens. */
  backchannel_logout_uri?: string;
  /** With it, ID tokens and logout tokens carry `sid`. */
  backchannel_logout_session_required?: boolean;
}

export interface OidcProviderProcess {
  /** http://127.0.0.1:<port>, no trailing slash. */
  issuer: string;
  /** jwks_uri from the discovery document. */
  jwksUri: string;
  /** The resource indicator tokens are issued for by default (= token `aud`). */
  audience: string;
  /**
   * client_credentials grant; resolves to the access token string: a JWT, or an opaque token for
   * OPAQUE_AUDIENCE.
   */
  token(client: DemoClientId, opts?: { scope?: string; resource?: string }): Promise<string>;
  /** New signing key generation; returns the kid that now signs access tokens. */
  rotate(opts: { keepOld: boolean }): Promise<string>;
  /** RFC 7009 revocation of an access token (by the client it was issued to). */
  revoke(client: DemoClientId, token: string): Promise<void>;
  /** Counts of GET requests to jwks_uri / discovery (including ones refused while down). */
  stats(): Promise<OidcProviderStats>;
  resetStats(): Promise<void>;
  /** down: destroy the socket of every non-admin request. delayMs: delay non-admin requests. */
  setDown(down: boolean, delayMs?: number): Promise<void>;
  /** Change how subsequently issued access tokens are signed / how long they live. */
  configure(opts: { accessTokenAlg?: SigningAlg; accessTokenTTLSeconds?: number }): Promise<void>;
  /** Grants counted per type and account (`sub`) since the last resetStats(). */
  grants(): Promise<OidcProviderGrants>;
  /** SIGTERM the child and wait for it to exit. Idempotent. */
  stop(): Promise<void>;
}

const SERVER_ENTRY = resolve(dirname(fileURLToPath(import.meta.url)), 'server.ts');
// test/support/oidc-provider/ -> project root. `--import tsx` is resolved
// relative to the child's cwd, so it must be a directory that sees node_modules.
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const STDERR_TAIL_BYTES = 64 * 1024;

/**
 * @param options.clients people's clients (authorization code + refresh: a BFF, a single-page app).
 * @param options.introspectionClientJwks public keys of the `private_key_jwt` introspection client
 *   (INTROSPECTION_JWT_CLIENT_ID); without them that client is not registered.
 */
export async function startOidcProvider(options: { clients?: PeopleClient[]; introspectionClientJwks?: { keys: object[] } } = {}): Promise<OidcProviderProcess> {
  const child = spawn(process.execPath, [...TSX_NODE_ARGS, SERVER_ENTRY], {
    cwd: PROJECT_ROOT,
    // stdin stays an open pipe: the child exits when it closes, so a crashed
    // or killed test worker does not leave an orphaned IdP behind.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      OIDC_HARNESS_EXIT_ON_STDIN_END: '1',
      OIDC_HARNESS_CLIENTS: JSON.stringify(options.clients ?? []),
      ...(options.introspectionClientJwks ? { OIDC_HARNESS_INTROSPECTION_CLIENT_JWKS: JSON.stringify(options.introspectionClientJwks) } : {}),
    },
  });

  // Keep draining stderr for the child's whole life: on Linux, writes to a
  // pipe are synchronous in Node, so a full pipe would block the child.
  let stderrTail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    if (process.env.OIDC_HARNESS_DEBUG) process.stderr.write(`[oidc-provider] ${chunk}`);
  });

  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });

  let ready: { issuer: string; port: number };
  try {
    ready = await waitForReadyLine(child, () => stderrTail);
  } catch (err) {
    child.kill('SIGKILL');
    // Without a pid the spawn itself failed and no 'exit' will ever come.
    if (child.pid !== undefined) await exited;
    throw err;
  }

  const { issuer } = ready;

  const adminCall = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${issuer}/__admin/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`oidc-provider admin ${path} failed: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  let discovery: { jwks_uri: string; token_endpoint: string; revocation_endpoint: string };
  try {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`, {
      headers: { [INTERNAL_REQUEST_HEADER]: '1' },
    });
    if (!res.ok) throw new Error(`discovery failed: ${res.status} ${await res.text()}`);
    discovery = (await res.json()) as typeof discovery;
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`oidc-provider started but discovery failed; stderr:\n${stderrTail}`, { cause: err });
  }

  let stopping: Promise<void> | undefined;

  return {
    issuer,
    jwksUri: discovery.jwks_uri,
    audience: AUDIENCE,

    async token(client, opts = {}) {
      const { secret } = DEMO_CLIENTS[client];
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        resource: opts.resource ?? AUDIENCE,
      });
      const scope = opts.scope ?? API_SCOPES.join(' ');
      if (scope) form.set('scope', scope);

      // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
      const basic = Buffer.from(
        `${encodeURIComponent(client)}:${encodeURIComponent(secret)}`,
      ).toString('base64');

      const res = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`token request for ${client} failed: ${res.status} ${text}`);
      const { access_token: accessToken } = JSON.parse(text) as { access_token?: string };
      if (!accessToken) throw new Error(`token response without access_token: ${text}`);
      return accessToken;
    },

    async revoke(client, token) {
      const { secret } = DEMO_CLIENTS[client];
      const basic = Buffer.from(`${encodeURIComponent(client)}:${encodeURIComponent(secret)}`).toString('base64');
      const res = await fetch(discovery.revocation_endpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      });
      if (!res.ok) throw new Error(`revocation failed: ${res.status} ${await res.text()}`);
    },

    async rotate({ keepOld }) {
      const { kid } = await adminCall<{ kid: string }>('rotate', { keep_old: keepOld });
      return kid;
    },

    stats: () => adminCall<OidcProviderStats>('stats'),

    grants: () => adminCall<OidcProviderGrants>('grants'),

    async resetStats() {
      await adminCall('reset-stats', {});
    },

    async setDown(down, delayMs) {
      await adminCall('set-down', delayMs === undefined ? { down } : { down, delayMs });
    },

    async configure(opts) {
      await adminCall('config', opts);
    },

    stop() {
      stopping ??= (async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function waitForReadyLine(
  child: ChildProcess,
  stderr: () => string,
): Promise<{ issuer: string; port: number }> {
  return new Promise((resolveReady, rejectReady) => {
    const lines = createInterface({ input: child.stdout! });
    const stdoutNoise: string[] = [];

    const fail = (reason: string) => {
      cleanup();
      const noise = stdoutNoise.length ? `\nstdout:\n${stdoutNoise.join('\n')}` : '';
      rejectReady(new Error(`oidc-provider child ${reason}\nstderr:\n${stderr()}${noise}`));
    };
    const onLine = (line: string) => {
      const parsed = parseReadyLine(line);
      if (!parsed) {
        stdoutNoise.push(line);
        return;
      }
      cleanup();
      // Keep consuming stdout so the pipe never fills up (see stderr above).
      child.stdout!.resume();
      resolveReady(parsed);
    };
    // 'close' rather than 'exit': it fires only after stderr has been drained,
    // so the error message contains the child's last words.
    const onClose = (code: number | null, signal: string | null) =>
      fail(`exited before becoming ready (code ${code}, signal ${signal})`);
    const onError = (err: Error) => fail(`failed to spawn: ${err.message}`);
    const timer = setTimeout(
      () => fail(`did not print its ready line within ${STARTUP_TIMEOUT_MS} ms`),
      STARTUP_TIMEOUT_MS,
    );

    function cleanup() {
      clearTimeout(timer);
      lines.off('line', onLine);
      lines.close();
      child.off('close', onClose);
      child.off('error', onError);
    }

    lines.on('line', onLine);
    child.once('close', onClose);
    child.once('error', onError);
  });
}

function parseReadyLine(line: string): { issuer: string; port: number } | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (
      value !== null &&
      typeof value === 'object' &&
      'issuer' in value &&
      'port' in value &&
      typeof value.issuer === 'string' &&
      typeof value.port === 'number'
    ) {
      return { issuer: value.issuer, port: value.port };
    }
  } catch {
    // not the ready line
  }
  return undefined;
}
