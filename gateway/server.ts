/**
 * startGateway assembles the rooms (docs/architecture.md) and drains them: identity keys, the
 * supergraph, the authenticator, the identity minter, the subgraph data sources, Apollo Server, and the
 * HTTP front on a node:http (or, with `listen.tls`, node:https) server.
 */
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import type { JSONWebKeySet } from 'jose';
import { createApolloServer } from './apollo/server.ts';
import { createAuthenticator, type Authenticator } from './auth/authenticate.ts';
import { servicePrincipal } from './auth/principal.ts';
import type { GatewayConfig } from './config/types.ts';
import { SubgraphDataSource } from './datasource.ts';
import { StartupError } from './errors.ts';
import type { LoopDelay } from './http/adaptive-limit.ts';
import { createAdmission } from './http/admission.ts';
import { createBrowserFront } from './http/browser.ts';
import { createHttpFront } from './http/front.ts';
import { httpServerOptions, onClientError } from './http/timeouts.ts';
import { loadIdentityKeys } from './identity/keys.ts';
import { createIdentityMinter } from './identity/mint.ts';
import { apolloLogger, loggerFor, type Logger } from './log.ts';
import { startObservability } from './observability/index.ts';
import type { OverloadListener } from './overload-events.ts';
import type { SessionStore } from './session/store.ts';
import { createSubgraphGuards } from './subgraph/guard.ts';
import { supergraphFromFile, supergraphSubgraphs } from './supergraph.ts';
import { createFrontServer } from './tls/listener.ts';
import { createSubgraphAgents } from './tls/subgraph-agents.ts';

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
  /** Sheds, circuit breaker changes and shared fetches, as they happen (docs/overload.md), e.g. for metrics. */
  onOverloadEvent?: OverloadListener;
  /** The event loop's delay and CPU per window, for the adaptive bound (tests). Default: measured. */
  loopDelay?: LoopDelay;
}

/** A started gateway (public API): where it listens, what it publishes, how to stop it. */
export interface RunningGateway {
  /** http://host:port */
  readonly url: string;
  /** The public identity keys, as served at /.well-known/jwks.json. */
  readonly jwks: JSONWebKeySet;
  /** http://host:port/metrics on the metrics listener, when `metrics.listen.port` is set. */
  readonly metricsUrl: string | undefined;
  /**
   * Stops accepting, drains in-flight requests (up to shutdownGrace), then closes everything. With
   * `preStopMs` (SIGTERM: `shutdownDelay`), /readyz first answers 503 for that long while requests are
   * still accepted and served, so a load balancer stops routing here before the listener closes.
   */
  close(options?: { preStopMs?: number }): Promise<void>;
}

export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const log = options.log ?? (await loggerFor(config));
  const clock = options.now ? { now: options.now } : {};
  const keys = await loadIdentityKeys(config.identity, log);
  const supergraph = supergraphFromFile(config.supergraph, log, options.supergraphPollMs);
  const declared = supergraphSubgraphs(supergraph.initial);
  const unknown = Object.keys(config.subgraphs).filter((name) => !declared.has(name));
  if (unknown.length > 0) {
    throw new StartupError('SUPERGRAPH_MISMATCH', `subgraphs: ${unknown.join(', ')} not in the supergraph (it has ${[...declared.keys()].join(', ')}); fix the name or recompose`);
  }

  const observability = await startObservability(config, log);
  const keySetHook = observability.onKeySetFetch ? { onKeySetFetch: observability.onKeySetFetch } : {};
  const authenticator = observability.authenticator(
    options.authenticator ?? createAuthenticator(config.auth, { log, ...clock, ...keySetHook, clientCertificate: config.listen.tls?.clientCert }),
  );
  const mint = observability.minter(createIdentityMinter({ issuer: config.identity.issuer, key: keys.signing, ttlMs: config.identity.ttlMs, ...clock }));
  const agents = createSubgraphAgents(config);
  const onOverloadEvent = bothListeners(options.onOverloadEvent, observability.onOverloadEvent);
  const guardFor = createSubgraphGuards(config, log, onOverloadEvent, options.now);
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.hook,
    logger: apolloLogger(log),
    buildService: ({ name, url }) => {
      const subgraphUrl = config.subgraphs[name]?.url ?? (url as string);
      const source = new SubgraphDataSource({
        name,
        url: subgraphUrl,
        timeoutMs: config.subgraphs[name]?.timeoutMs ?? config.subgraphDefaults.timeoutMs,
        dispatcher: agents.for(name),
        mint,
        identityHeader: config.identity.header,
        forwardHeaders: config.forwardHeaders,
        servicePrincipal: servicePrincipal(config.identity.issuer),
        log,
        production: config.production,
        guard: guardFor(name),
        ...(observability.traceHeaders ? { traceHeaders: observability.traceHeaders } : {}),
      });
      return observability.dataSource(source, { name, url: subgraphUrl });
    },
  });
  const apollo = createApolloServer(config, gateway, log, [observability.requests.plugin]);
  await apollo.start();

  let draining = false;
  const browser = createBrowserFront(config, { log, ...clock, ...(options.sessionStore ? { sessionStore: options.sessionStore } : {}) });
  const admission = createAdmission(config.admission, {
    onEvent: (event) => {
      if (event.type === 'admission bound') guardFor.followAdmissionBound(event.operations);
      onOverloadEvent?.(event);
    },
    ...(options.loopDelay ? { loopDelay: options.loopDelay } : {}),
  });
  const front = observability.requests.wrap(
    createHttpFront({ config, apollo, authenticator, jwks: keys.jwks, draining: () => draining, log, onContext: observability.requests.onContext, admission, ...browser }),
  );
  let inflight = 0;
  let idle: (() => void) | undefined;
  const { server, protocol, stopWatching } = createFrontServer(config.listen.tls, httpServerOptions(config.server), (req, res) => {
    inflight++;
    res.once('close', () => {
      inflight--;
      if (inflight === 0) idle?.();
    });
    front(req, res);
  }, log);
  server.on('clientError', onClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new StartupError('LISTEN_FAILED', `cannot listen on ${config.listen.host}:${config.listen.port}: ${error.message}`, { cause: error })));
    server.listen(config.listen.port, config.listen.host, () => resolve());
  }).catch(async (error: unknown) => {
    admission.close();
    await Promise.all([apollo.stop(), agents.close(), observability.close()]);
    stopWatching();
    authenticator.close();
    throw error;
  });
  const { address, port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `${protocol}://${address.includes(':') ? `[${address}]` : address}:${port}`,
    jwks: keys.jwks,
    metricsUrl: observability.metricsUrl,
    close(closeOptions = {}) {
      closing ??= (async () => {
        draining = true;
        if (closeOptions.preStopMs) {
          log.info('shutting down: /readyz answers 503, still serving', { preStopMs: closeOptions.preStopMs });
          await new Promise<void>((resolve) => setTimeout(resolve, closeOptions.preStopMs).unref());
        }
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inflight > 0) {
          await Promise.race([
            new Promise<void>((resolve) => (idle = resolve)),
            new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref()),
          ]);
        }
        server.closeAllConnections();
        admission.close();
        await closed;
        await apollo.stop();
        await agents.close();
        await observability.close();
        stopWatching();
        authenticator.close();
      })();
      return closing;
    },
  };
}

/** The embedder's overload listener and the metrics', either or both. */
function bothListeners(a: OverloadListener | undefined, b: OverloadListener | undefined): OverloadListener | undefined {
  if (!a || !b) return a ?? b;
  return (event) => {
    a(event);
    b(event);
  };
}
