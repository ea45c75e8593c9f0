/**
 * Prometheus metrics (prom-client): one Registry per gateway, served by ./metrics-listener.ts on a port
 * of its own. Names carry base units and `_total` / `_seconds` suffixes; every label comes from a small
 * fixed set (route, status class, outcome, method, result, configured issuer, subgraph name from the
 * supergraph). Nothing a client sends becomes a label: an issuer that is not configured is `other`.
 *
 * The instruments every request updates (requests, request and operation durations, authentication
 * decisions, identity tokens minted, subgraph fetch durations, shared fetches) are ./request-metrics.ts's:
 * the same exposition, without prom-client's label work on each update.
 *
 * Instruments are fed through small hooks (the request wrapper, the authenticator wrapper, the data
 * source's `metrics`, the key sets' onFetch, the overload events); with metrics off none of them is
 * installed.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { LabelledCounter, LabelledHistogram } from './request-metrics.ts';
import type { BreakerState, OverloadEvent } from '../overload-events.ts';
import type { RateLimitEvent } from '../rate-limit/events.ts';

export type RequestOutcome = 'ok' | 'partial' | 'refused' | 'rejected' | 'unavailable' | 'error';
export type AuthResult = 'accepted' | 'anonymous' | 'missing' | 'invalid' | 'expired' | 'unavailable';
export type SubgraphResult = 'ok' | 'graphql_error' | 'unavailable';
export type Route = 'graphql' | 'healthz' | 'readyz' | 'jwks' | 'other';

/** Latency buckets in seconds: 1 ms to 10 s, for a gateway whose requests take milliseconds. */
/** HTTP status class labels, by status / 100 (constant strings: ./request-metrics.ts keys its cells by value). */
const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface GatewayMetrics {
  readonly registry: Registry;
  request(route: Route, status: number, outcome: RequestOutcome, seconds: number): void;
  operation(type: string, seconds: number): void;
  authDecision(method: string, issuer: string | undefined, result: AuthResult): void;
  keySetFetch(issuer: string, ok: boolean): void;
  identityTokenMinted(subgraph: string): void;
  subgraphFetch(subgraph: string, result: SubgraphResult, seconds: number): void;
  /** What the overload protection reports (gateway/overload-events.ts): sheds, breaker states, shared fetches. */
  overload(event: OverloadEvent): void;
  /** A revocation added to or changed in this instance's list (docs/fleet.md "Revocation"). */
  revocationApplied(kind: string): void;
  /** Where the revocation list's size is read at scrape time. */
  watchRevocationList(size: () => number): void;
  /** What rate limiting reports (gateway/rate-limit/events.ts): refusals by rule, decisions without the store. */
  rateLimit(event: RateLimitEvent): void;
}

export interface MetricsOptions {
  /** Configured issuers: the only values the `issuer` label takes (others become `other`). */
  issuers: readonly string[];
  /** Read at scrape time: the authenticator's cache counters (no work on the request path). */
  authStats?: { readonly verifications: number; readonly cacheHits: number };
  /** The rate limit's rule names (configured rules and the failed-authentication throttle), shown at zero from the start. */
  rateLimitRules?: readonly string[];
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

export function createMetrics(options: MetricsOptions): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const issuers = new Set(options.issuers);
  const issuerLabel = (issuer: string | undefined) => (issuer === undefined ? 'none' : issuers.has(issuer) ? issuer : 'other');
  const registers = [registry];

  const requests = new LabelledCounter({
    name: 'frontdesk_http_requests_total',
    help: 'HTTP requests answered, by route, status class (2xx…5xx) and outcome (ok, partial: GraphQL errors in a 200, refused: 401, rejected: other 4xx, unavailable: 503, error: other 5xx)',
    labelNames: ['route', 'status_class', 'outcome'] as const,
    registers,
  });
  const requestDuration = new LabelledHistogram({
    name: 'frontdesk_http_request_duration_seconds',
    help: 'Time from the request head to the last byte of the response, by route',
    labelNames: ['route'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const operationDuration = new LabelledHistogram({
    name: 'frontdesk_graphql_operation_duration_seconds',
    help: 'GraphQL operations from parsing to the response, by operation type (query, mutation, none when it did not resolve)',
    labelNames: ['operation_type'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const decisions = new LabelledCounter({
    name: 'frontdesk_auth_decisions_total',
    help: 'Authentication decisions by method (jwt, anonymous, none), configured issuer and result',
    labelNames: ['method', 'issuer', 'result'] as const,
    registers,
  });
  const cacheLookups = new Counter({
    name: 'frontdesk_auth_cache_lookups_total',
    help: 'Verified-token cache lookups: hit (no signature check) or miss (a signature verification)',
    labelNames: ['result'] as const,
    registers,
    collect() {
      const stats = options.authStats;
      if (!stats) return;
      this.reset();
      this.inc({ result: 'hit' }, stats.cacheHits);
      this.inc({ result: 'miss' }, stats.verifications);
    },
  });
  const keySetFetches = new Counter({
    name: 'frontdesk_key_set_fetches_total',
    help: "Fetches of an issuer's key set or OIDC discovery document, by issuer and result (ok, error)",
    labelNames: ['issuer', 'result'] as const,
    registers,
  });
  const minted = new LabelledCounter({
    name: 'frontdesk_identity_tokens_minted_total',
    help: 'Identity tokens signed for subgraph fetches, by subgraph',
    labelNames: ['subgraph'] as const,
    registers,
  });
  const subgraphDuration = new LabelledHistogram({
    name: 'frontdesk_subgraph_fetch_duration_seconds',
    help: 'Subgraph fetches (token minting, request, response) by subgraph and result (ok, graphql_error, unavailable)',
    labelNames: ['subgraph', 'result'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const shed = new Counter({
    name: 'frontdesk_requests_shed_total',
    help: 'Operations refused 503 OVERLOADED by the admission control, by reason (queue full, queue timeout)',
    labelNames: ['reason'] as const,
    registers,
  });
  const bound = new Gauge({
    name: 'frontdesk_admission_bound_operations',
    help: 'Operations the admission control admits at once now: admission.maxInFlight, lower while the event loop lags or operations slow down (the adaptive bound)',
    registers,
  });
  const breaker = new Gauge({
    name: 'frontdesk_subgraph_breaker_state',
    help: "A subgraph's circuit breaker: 1 for its current state (closed, open, half-open), 0 for the others",
    labelNames: ['subgraph', 'state'] as const,
    registers,
  });
  // Shared fetches come at the request rate under load (identical queries of one caller): ./request-metrics.ts's.
  const shared = new LabelledCounter({
    name: 'frontdesk_subgraph_fetches_shared_total',
    help: 'Subgraph fetches a request did not make because an identical in-flight fetch of the same principal answered it',
    labelNames: ['subgraph'] as const,
    registers,
  });
  const revocations = new Counter({
    name: 'frontdesk_revocations_applied_total',
    help: "Revocations added to this instance's list (from the admin endpoint, a back-channel logout, the fleet's channel or persisted list), by kind (sub, jti, api-key, sid)",
    labelNames: ['kind'] as const,
    registers,
  });
  let revocationListSize: (() => number) | undefined;
  new Gauge({
    name: 'frontdesk_revocation_list_entries',
    help: "Live entries in this instance's revocation list",
    registers,
    collect() {
      this.set(revocationListSize?.() ?? 0);
    },
  });
  const rateLimited = new Counter({
    name: 'frontdesk_rate_limited_total',
    help: 'Requests refused 429 RATE_LIMITED, by rule: a configured rule, failed-auth-address or failed-auth-api-key (the failed-authentication throttle)',
    labelNames: ['rule'] as const,
    registers,
  });
  const storeUnavailable = new Counter({
    name: 'frontdesk_rate_limit_store_unavailable_total',
    help: 'Rate-limit decisions taken while the store (Redis) could not answer, by check (operation, failed auth) and decision (open: let through, closed: refused 503)',
    labelNames: ['check', 'decision'] as const,
    registers,
  });
  for (const rule of options.rateLimitRules ?? []) rateLimited.inc({ rule }, 0);
  // Known label sets start at zero, so a dashboard's rate() sees the first failure.
  for (const kind of ['sub', 'jti', 'api-key', 'sid']) revocations.inc({ kind }, 0);
  for (const reason of ['queue full', 'queue timeout']) shed.inc({ reason }, 0);
  for (const result of ['hit', 'miss']) cacheLookups.inc({ result }, 0);

  return {
    registry,
    request(route, status, outcome, seconds) {
      requests.inc(route, STATUS_CLASSES[Math.floor(status / 100)] ?? 'other', outcome);
      requestDuration.observe(seconds, route);
    },
    operation(type, seconds) {
      operationDuration.observe(seconds, type);
    },
    authDecision(method, issuer, result) {
      decisions.inc(method, issuerLabel(issuer), result);
    },
    keySetFetch(issuer, ok) {
      keySetFetches.inc({ issuer: issuerLabel(issuer), result: ok ? 'ok' : 'error' });
    },
    identityTokenMinted(subgraph) {
      minted.inc(subgraph);
    },
    subgraphFetch(subgraph, result, seconds) {
      subgraphDuration.observe(seconds, subgraph, result);
    },
    revocationApplied(kind) {
      revocations.inc({ kind });
    },
    watchRevocationList(size) {
      revocationListSize = size;
    },
    overload(event) {
      if (event.type === 'shed') shed.inc({ reason: event.reason });
      else if (event.type === 'admission bound') bound.set(event.operations);
      else if (event.type === 'fetch shared') shared.inc(event.subgraph);
      else for (const state of BREAKER_STATES) breaker.set({ subgraph: event.subgraph, state }, state === event.state ? 1 : 0);
    },
    rateLimit(event) {
      if (event.type === 'limited') rateLimited.inc({ rule: event.rule });
      else storeUnavailable.inc({ check: event.check, decision: event.decision });
    },
  };
}
