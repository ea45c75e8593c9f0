/**
 * The federated shop on port 0, in-process but over real HTTP: three example subgraphs using the kit and
 * the real gateway, configured through the same parseConfig path as gateway.yaml. Records what every
 * subgraph received and every log line.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet, type JWK } from 'jose';
import { createAuthenticator, type Authenticator } from '../../gateway/auth/authenticate.ts';
import { generateDevKey, loadIdentityKeys, type SigningKey } from '../../gateway/identity/keys.ts';
import { parseConfig } from '../../gateway/config/load.ts';
import { createLogger } from '../../gateway/log.ts';
import type { LoopDelay } from '../../gateway/http/adaptive-limit.ts';
import type { OverloadEvent } from '../../gateway/overload-events.ts';
import { startGateway, type RunningGateway } from '../../gateway/server.ts';
import { runSubgraph, SUBGRAPH_NAMES, type RunningSubgraph, type SubgraphName } from '../../subgraphs/shop/example.ts';
import { createAccountsSubgraph } from '../../subgraphs/shop/accounts/index.ts';
import { createProductsSubgraph } from '../../subgraphs/shop/products/index.ts';
import { createReviewsSubgraph } from '../../subgraphs/shop/reviews/index.ts';
import type { AccountsStore } from '../../subgraphs/shop/accounts/store.ts';
import type { ProductsStore } from '../../subgraphs/shop/products/store.ts';
import type { ReviewsStore } from '../../subgraphs/shop/reviews/store.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SUPERGRAPH = join(ROOT, 'schema/supergraph.graphql');

export interface ReceivedRequest {
  headers: Record<string, string | string[] | undefined>;
  body: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null } & Record<string, unknown>;
  /** The identity token's decoded (unverified) header and payload, when present. */
  identity?: { header: Record<string, unknown>; claims: Record<string, unknown>; token: string };
}

export interface LogEntry {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface StackSubgraph extends RunningSubgraph {
  received: ReceivedRequest[];
  /** Refusals the kit logged (server-only reasons). */
  refusals: LogEntry[];
  /** The subgraph's audit lines (`audit: true`): refusals and field denials. */
  audit: LogEntry[];
}

export interface Stack {
  url: string;
  gateway: RunningGateway;
  /** The gateway's authenticator (its stats and key sets). */
  authenticator: Authenticator;
  /** The gateway's identity signing key, for tests that forge identity tokens. */
  signingKey: SigningKey;
  subgraphs: Record<SubgraphName, StackSubgraph>;
  stores: { accounts: AccountsStore; products: ProductsStore; reviews: ReviewsStore };
  logs: LogEntry[];
  /** What the overload protection reported: sheds, breaker changes, shared fetches (docs/overload.md). */
  overloadEvents: OverloadEvent[];
  identityIssuer: string;
  /** The gateway's identity key file (a private JWK), for a second gateway signing as this one. */
  identityKeyFile: string;
  /** POSTs a GraphQL request to the gateway. */
  query(body: unknown, options?: QueryOptions): Promise<HttpResult>;
  /** Starts one more gateway with the same config on the same subgraphs (a fleet, e.g. sharing `store.redis`); closed with the stack. */
  startPeer(): Promise<Peer>;
  /** Forgets what subgraphs received. */
  resetReceived(): void;
  close(): Promise<void>;
}

export interface QueryOptions {
  token?: string;
  headers?: Record<string, string>;
}

/** Another gateway of the stack's fleet: same config, same subgraphs, its own port and its own logs. */
export interface Peer {
  url: string;
  gateway: RunningGateway;
  logs: LogEntry[];
  query(body: unknown, options?: QueryOptions): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }> };
}

export interface StackOptions {
  /** Raw `auth` section of the gateway config. */
  auth?: Record<string, unknown>;
  /** Raw config keys merged over the defaults below (e.g. identity, forwardHeaders, limits). */
  config?: Record<string, unknown>;
  /** Kit options for every subgraph. */
  replay?: boolean;
  env?: Record<string, string>;
  now?: () => number;
  /** The event loop's delay and CPU per window, as the adaptive admission bound sees them. */
  loopDelay?: LoopDelay;
  /** What the subgraphs trust as the gateway's JWKS. Default: the public half of the stack's key. */
  subgraphJwks?: string | JSONWebKeySet;
  /** Per started subgraph, keys merged into its `subgraphs.<name>` config (e.g. an https front and its `tls`). */
  subgraphConfig?: (name: SubgraphName, subgraph: StackSubgraph) => Promise<Record<string, unknown> | undefined>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const examples = { accounts: createAccountsSubgraph(), products: createProductsSubgraph(), reviews: createReviewsSubgraph() };
  const logs: LogEntry[] = [];
  const overloadEvents: OverloadEvent[] = [];
  const keyDir = mkdtempSync(join(tmpdir(), 'frontdesk-test-'));
  const identityIssuer = 'https://gateway.test';

  // The gateway's signing key is made first so the subgraphs can trust its public half (the kit's
  // file/object JWKS option); test/integration/identity covers the JWKS-over-HTTP path separately.
  const keyFile = join(keyDir, 'identity.json');
  const silent = createLogger({ level: 'silent' });
  await generateDevKey(keyFile, silent);
  const { d: _private, ...publicJwk } = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
  const gatewayJwks = { keys: [publicJwk] };

  const subgraphs = {} as Record<SubgraphName, StackSubgraph>;
  for (const name of SUBGRAPH_NAMES) {
    const refusals: LogEntry[] = [];
    const audit: LogEntry[] = [];
    const running = await runSubgraph(examples[name] as never, {
      port: 0,
      identity: { jwks: options.subgraphJwks ?? gatewayJwks, issuer: identityIssuer, replay: options.replay ?? false },
      log: (entry) => {
        if (entry.msg === 'request refused') refusals.push(entry as LogEntry);
        if (entry.audit === true) audit.push(entry as LogEntry);
      },
    });
    subgraphs[name] = { ...running, received: [], refusals, audit };
    record(subgraphs[name]);
  }

  // `config.subgraphs` adds to each subgraph's entry (e.g. its concurrency) beside the URL set here.
  const { subgraphs: overrides = {}, ...rest } = (options.config ?? {}) as { subgraphs?: Record<string, Record<string, unknown>> };
  const config = parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      supergraph: SUPERGRAPH,
      subgraphs: Object.fromEntries(
        await Promise.all(SUBGRAPH_NAMES.map(async (name) => [name, { url: subgraphs[name].url, ...overrides[name], ...(await options.subgraphConfig?.(name, subgraphs[name])) }] as const)),
      ),
      auth: options.auth ?? { anonymous: true },
      identity: { issuer: identityIssuer, keys: [{ file: keyFile }] },
      logLevel: 'debug',
      shutdownGrace: '2s',
      ...rest,
    },
    { env: options.env ?? {}, source: join(ROOT, 'gateway.test.yaml') },
  );
  const log = createLogger({ level: 'debug', write: (line) => void logs.push(JSON.parse(line) as LogEntry) });
  const clock = options.now ? { now: options.now } : {};
  const authenticator = createAuthenticator(config.auth, { log, ...clock, clientCertificate: config.listen.tls?.clientCert });
  const gateway = await startGateway(config, { log, ...clock, supergraphPollMs: 100, authenticator, onOverloadEvent: (event) => void overloadEvents.push(event), ...(options.loopDelay ? { loopDelay: options.loopDelay } : {}) });
  const signingKey = (await loadIdentityKeys(config.identity, silent)).signing;
  const peers: RunningGateway[] = [];
  return {
      url: `${gateway.url}/graphql`,
      gateway,
      authenticator,
      signingKey,
      subgraphs,
      stores: { accounts: examples.accounts.store, products: examples.products.store, reviews: examples.reviews.store },
      logs,
      overloadEvents,
      identityIssuer,
      identityKeyFile: keyFile,
      query: (body, queryOptions) => queryGateway(gateway.url, body, queryOptions),
      async startPeer() {
        const peerLogs: LogEntry[] = [];
        const peerLog = createLogger({ level: 'debug', write: (line) => void peerLogs.push(JSON.parse(line) as LogEntry) });
        const peer = await startGateway(config, { log: peerLog, ...clock, supergraphPollMs: 100 });
        peers.push(peer);
        return { url: `${peer.url}/graphql`, gateway: peer, logs: peerLogs, query: (body, queryOptions) => queryGateway(peer.url, body, queryOptions), close: () => peer.close() };
      },
      resetReceived() {
        for (const name of SUBGRAPH_NAMES) subgraphs[name].received.length = 0;
      },
      async close() {
        await Promise.all([gateway.close(), ...peers.map((peer) => peer.close())]);
        await Promise.all(SUBGRAPH_NAMES.map((name) => subgraphs[name].close()));
      },
    };
}

/** POSTs a GraphQL request to the gateway at `base` (http://host:port). */
async function queryGateway(base: string, body: unknown, queryOptions: QueryOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...queryOptions.headers };
  if (queryOptions.token !== undefined) headers.authorization = `Bearer ${queryOptions.token}`;
  const response = await fetch(`${base}/graphql`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  let parsed: HttpResult['body'];
  try {
    parsed = JSON.parse(text) as HttpResult['body'];
  } catch {
    throw new Error(`gateway answered ${response.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Records each request a subgraph receives (headers, body, decoded identity token). */
export function record(subgraph: StackSubgraph): void {
  subgraph.server.prependListener('request', (req) => {
    if (req.method !== 'POST') return;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: ReceivedRequest['body'];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedRequest['body'];
      } catch {
        return;
      }
      const entry: ReceivedRequest = { headers: { ...req.headers }, body };
      const token = req.headers['frontdesk-identity'];
      if (typeof token === 'string') {
        try {
          entry.identity = { header: decodeProtectedHeader(token) as Record<string, unknown>, claims: decodeJwt(token) as Record<string, unknown>, token };
        } catch {
          // a malformed token is recorded without decoding
        }
      }
      subgraph.received.push(entry);
    });
  });
}
