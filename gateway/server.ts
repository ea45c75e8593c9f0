/**
 * startGateway assembles the rooms (docs/architecture.md) and drains them: identity keys, the
 * supergraph, the authenticator, the identity minter, the subgraph data sources, Apollo Server, and the
 * HTTP front on a node:http (or, with `listen.tls`, node:https) server.
 */
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import type { JSONWebKeySet } from 'jose';
import { constructWithoutTelemetry } from './apollo/no-reporting.ts';
import { rateLimitPlugin } from './apollo/rate-limit.ts';
import { createApolloServer } from './apollo/server.ts';
import { createAuthenticator, type Authenticator } from './auth/authenticate.ts';
import { servicePrincipal } from './auth/principal.ts';
import type { GatewayConfig } from './config/types.ts';
import { SubgraphDataSource } from './datasource.ts';
import { StartupError } from './errors.ts';
import { createAuthThrottle } from './http/auth-throttle.ts';
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
import { createAdminHandler } from './revocation/admin.ts';
import { createRevocations } from './revocation/revocations.ts';
import type { RateLimitEvent, RateLimitListener } from './rate-limit/events.ts';
import { createRateLimiter } from './rate-limit/limiter.ts';
import type { SessionStore } from './session/store.ts';
import { connectSharedStore } from './store/redis.ts';
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
  /** Rate limiting's refusals and decisions without the store (docs/fleet.md "Rate limits"), e.g. for metrics. */
  onRateLimitEvent?: RateLimitListener;
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

  // The fleet's shared state (docs/fleet.md); undefined: every store stays in this process's memory.
  const shared = config.store ? await connectSharedStore(config.store.redis, log) : undefined;
  const observability = await startObservability(config, log);
  const keySetHook = observability.onKeySetFetch ? { onKeySetFetch: observability.onKeySetFetch } : {};
  // The revocation list (docs/fleet.md "Revocation"): in memory here, in step with the fleet through `shared`.
  const revocations = createRevocations(config, shared, log, { ...clock, onApplied: (entry) => observability.onRevocationApplied?.(entry.kind) });
  observability.watchRevocationList(() => revocations.list.size);
  await revocations.ready;
  const inner = options.authenticator ?? createAuthenticator(config.auth, { log, ...clock, ...keySetHook, clientCertificate: config.listen.tls?.clientCert, ...(shared ? { shared } : {}) });
  inner.enforceRevocations(revocations.list);
  const authenticator = observability.authenticator(inner);
  // On the metrics listener only (checkRevocation refuses admin.token without metrics.listen.port).
  if (config.admin.token !== undefined) observability.mountAdmin(createAdminHandler(config.admin.token, revocations, log.child({ room: 'admin' })));
  const mint = createIdentityMinter({ issuer: config.identity.issuer, key: keys.signing, ttlMs: config.identity.ttlMs, ...clock });
  const agents = createSubgraphAgents(config);
  const onOverloadEvent = bothListeners(options.onOverloadEvent, observability.onOverloadEvent);
  const guardFor = createSubgraphGuards(config, log, onOverloadEvent, options.now);
  // Apollo Gateway's own telemetry to Apollo off (gateway/apollo/no-reporting.ts).
  const gateway = constructWithoutTelemetry(() => new ApolloGateway({
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
        ...(observability.fetchMetrics ? { metrics: observability.fetchMetrics } : {}),
      });
      return observability.dataSource(source, { name, url: subgraphUrl });
    },
  }));
  const onRateLimitEvent = bothListeners<RateLimitEvent>(options.onRateLimitEvent, observability.onRateLimitEvent);
  const limiter = config.rateLimit ? createRateLimiter(config.rateLimit, { shared, log, onEvent: onRateLimitEvent }) : undefined;
  const rateLimit = limiter && config.rateLimit ? [rateLimitPlugin(limiter, config.rateLimit.cost)] : [];
  const authThrottle = limiter?.failedAuth ? createAuthThrottle(limiter.failedAuth, config.auth.apiKeys?.header) : undefined;
  const apollo = createApolloServer(config, gateway, log, [observability.requests.plugin], rateLimit);
  await apollo.start();

  let draining = false;
  const browser = createBrowserFront(config, {
    log,
    ...clock,
    ...(options.sessionStore ? { sessionStore: options.sessionStore } : {}),
    ...(shared ? { shared } : {}),
    revocations,
    keyFor: (issuer) => authenticator.jwt.keySets.get(issuer)?.getKey,
  });
  const admission = createAdmission(config.admission, {
    onEvent: (event) => {
      if (event.type === 'admission bound') guardFor.followAdmissionBound(event.operations);
      onOverloadEvent?.(event);
    },
    ...(options.loopDelay ? { loopDelay: options.loopDelay } : {}),
  });
  const front = observability.requests.wrap(
    createHttpFront({ config, apollo, authenticator, jwks: keys.jwks, draining: () => draining, log, onContext: observability.requests.onContext, traceIdOf: observability.requests.traceIdOf, admission, authThrottle, ...browser }),
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
    revocations.close();
    admission.close();
    await Promise.all([apollo.stop(), agents.close(), observability.close(), shared?.close()]);
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
        revocations.close();
        await shared?.close();
        stopWatching();
        authenticator.close();
      })();
      return closing;
    },
  };
}

/** The embedder's listener and the metrics', either or both. */
function bothListeners<E = Parameters<OverloadListener>[0]>(a: ((event: E) => void) | undefined, b: ((event: E) => void) | undefined): ((event: E) => void) | undefined {
  if (!a || !b) return a ?? b;
  return (event) => {
    a(event);
    b(event);
  };
}
