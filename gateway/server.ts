/**
 * startGateway assembles the rooms (docs/architecture.md) and drains them: identity keys, the
 * supergraph, the authenticator, the identity minter, the subgraph data sources, Apollo Server, and the
 * HTTP front on a node:http server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import type { JSONWebKeySet } from 'jose';
import { answerClientError } from '@frontdesk/kit/node-http';
import { Agent } from 'undici';
import { createApolloServer } from './apollo/server.ts';
import { createAuthenticator, type Authenticator } from './auth/authenticate.ts';
import { servicePrincipal } from './auth/principal.ts';
import type { GatewayConfig } from './config/types.ts';
import { SubgraphDataSource } from './datasource.ts';
import { StartupError } from './errors.ts';
import { createBrowserFront } from './http/browser.ts';
import { createHttpFront } from './http/front.ts';
import { loadIdentityKeys } from './identity/keys.ts';
import type { SessionStore } from './session/store.ts';
import { createIdentityMinter } from './identity/mint.ts';
import { apolloLogger, createLogger, type Logger } from './log.ts';
import { supergraphFromFile, supergraphSubgraphs } from './supergraph.ts';

export interface GatewayOptions {
  log?: Logger;
  /** Clock, for tests. */
  now?: () => number;
  /** Supergraph file poll interval in ms. Default 1000. */
  supergraphPollMs?: number;
  /** The authenticator to use instead of one built from `config.auth` (tests read its stats). */
  authenticator?: Authenticator;
  /** Where cookie sessions are kept (`sessions:`); default in memory. */
  sessionStore?: SessionStore;
}

/** A started gateway (public API): where it listens, what it publishes, how to stop it. */
export interface RunningGateway {
  /** http://host:port */
  readonly url: string;
  /** The public identity keys, as served at /.well-known/jwks.json. */
  readonly jwks: JSONWebKeySet;
  /** Stops accepting, drains in-flight requests (up to shutdownGrace), then closes everything. */
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const log = options.log ?? createLogger({ level: config.logLevel, base: { service: 'gateway' } });
  const clock = options.now ? { now: options.now } : {};
  const keys = await loadIdentityKeys(config.identity, log);
  const supergraph = supergraphFromFile(config.supergraph, log, options.supergraphPollMs);
  const declared = supergraphSubgraphs(supergraph.initial);
  const unknown = Object.keys(config.subgraphs).filter((name) => !declared.has(name));
  if (unknown.length > 0) {
    throw new StartupError('SUPERGRAPH_MISMATCH', `subgraphs: ${unknown.join(', ')} not in the supergraph (it has ${[...declared.keys()].join(', ')}); fix the name or recompose`);
  }

  const authenticator = options.authenticator ?? createAuthenticator(config.auth, { log, ...clock });
  const mint = createIdentityMinter({ issuer: config.identity.issuer, key: keys.signing, ttlMs: config.identity.ttlMs, ...clock });
  // maxResponseSize bounds every subgraph response, chunked ones included.
  const dispatcher = new Agent({
    keepAliveTimeout: config.subgraphDefaults.keepAliveTimeoutMs,
    connections: config.subgraphDefaults.maxConnections,
    maxResponseSize: config.subgraphDefaults.maxResponseBytes,
  });
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.hook,
    logger: apolloLogger(log),
    buildService: ({ name, url }) =>
      new SubgraphDataSource({
        name,
        url: config.subgraphs[name]?.url ?? (url as string),
        timeoutMs: config.subgraphs[name]?.timeoutMs ?? config.subgraphDefaults.timeoutMs,
        dispatcher,
        mint,
        identityHeader: config.identity.header,
        forwardHeaders: config.forwardHeaders,
        servicePrincipal: servicePrincipal(config.identity.issuer),
        log,
        production: config.production,
      }),
  });
  const apollo = createApolloServer(config, gateway, log);
  await apollo.start();

  let draining = false;
  const browser = createBrowserFront(config, { log, ...clock, ...(options.sessionStore ? { sessionStore: options.sessionStore } : {}) });
  const front = createHttpFront({ config, apollo, authenticator, jwks: keys.jwks, draining: () => draining, log, ...browser });
  let inflight = 0;
  let idle: (() => void) | undefined;
  const serverOptions = { keepAliveTimeout: config.server.keepAliveTimeoutMs, requestTimeout: config.server.requestTimeoutMs, maxHeaderSize: config.server.maxHeaderBytes };
  const server: Server = createServer(serverOptions, (req, res) => {
    inflight++;
    res.once('close', () => {
      inflight--;
      if (inflight === 0) idle?.();
    });
    front(req, res);
  });
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new StartupError('LISTEN_FAILED', `cannot listen on ${config.listen.host}:${config.listen.port}: ${error.message}`, { cause: error })));
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    jwks: keys.jwks,
    close() {
      closing ??= (async () => {
        draining = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inflight > 0) {
          await Promise.race([
            new Promise<void>((resolve) => (idle = resolve)),
            new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref()),
          ]);
        }
        server.closeAllConnections();
        await closed;
        await apollo.stop();
        await dispatcher.close();
      })();
      return closing;
    },
  };
}
