/**
 * How the gateway talks to one subgraph: the seam where the signed identity is attached. Every fetch
 * carries a fresh identity token for this subgraph and this exact request; of the client's headers only
 * the allowlist survives; the body holds query, operationName and variables and nothing the client sent
 * in `extensions`. Connections are pooled and kept alive (undici), each request bounded by a timeout.
 * Every fetch goes through the subgraph's guard (subgraph/guard.ts: sharing, circuit breaker, concurrency
 * limit, the operation's deadline; docs/overload.md). With metrics on, the data source reports each token
 * it attaches and each fetch's result and duration through synchronous hooks (no wrapper, no extra await).
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import type { Dispatcher } from 'undici';
import { request as undiciRequest } from 'undici';
import { readBoundedText } from '@frontdesk/kit/bounded-read';
import { encodeBoundRequest, type BoundRequest } from '@frontdesk/kit/contract';
import type { Principal } from './auth/principal.ts';
import type { GatewayContext } from './context.ts';
import { ERROR_CATALOGUE } from './errors.ts';
import { forwardedHeaders } from './identity/headers.ts';
import type { IdentityMinter } from './identity/mint.ts';
import type { Logger } from './log.ts';
import type { SubgraphResult } from './observability/metrics.ts';
import { SubgraphFetchFailed, type SubgraphGuard } from './subgraph/guard.ts';
import { isShareable, sharingKey } from './subgraph/sharing.ts';

export interface SubgraphDataSourceOptions {
  /** The subgraph's name in the supergraph: the `aud` of its identity tokens. */
  name: string;
  url: string;
  timeoutMs: number;
  dispatcher: Dispatcher;
  mint: IdentityMinter;
  identityHeader: string;
  forwardHeaders: readonly string[];
  /** Who the gateway is when it calls on its own behalf (health checks, schema loading). */
  servicePrincipal: Principal;
  log: Logger;
  /** Production: strip stack traces a subgraph in development mode would put in its errors. Default false. */
  production?: boolean;
  /**
   * Largest subgraph response read, in bytes, counted while it streams (the read is cut past it, whatever
   * the dispatcher's own limit). Default is 33554432 (32 MiB).
   */
  maxResponseBytes?: number;
  /** Writes the operation's trace context (traceparent) over the forwarded one; set only when tracing is on. */
  traceHeaders?: (headers: Record<string, string>, operation: GatewayContext | undefined) => void;
  /** This subgraph's protection: dedup, circuit breaker, concurrency limit (docs/overload.md). */
  guard: SubgraphGuard;
  /** Where each minted token and each fetch's result and duration are counted; set only when metrics are on. */
  metrics?: SubgraphFetchMetrics;
}

/** The metrics a data source feeds (observability/metrics.ts implements them). */
export interface SubgraphFetchMetrics {
  identityTokenMinted(subgraph: string): void;
  /** Seconds from the data source's start to its answer, whatever the answer. */
  subgraphFetch(subgraph: string, result: SubgraphResult, seconds: number): void;
}

const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1_048_576;

const INCOMING_OPERATION = 'incoming operation';

export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  readonly #options: SubgraphDataSourceOptions;

  constructor(options: SubgraphDataSourceOptions) {
    this.#options = options;
  }

  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const { name, url, timeoutMs, dispatcher, mint, identityHeader, metrics } = this.#options;
    const started = metrics ? performance.now() : 0;
    const { query, operationName, variables } = options.request;
    if (!query) {
      metrics?.subgraphFetch(name, 'unavailable', 0);
      throw new Error('subgraph request without a query');
    }
    const bound: BoundRequest = { query, operationName: operationName ?? null, variables: variables ?? {} };

    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    let log = this.#options.log;
    let principal = this.#options.servicePrincipal;
    let signal: AbortSignal | undefined;
    let operation: GatewayContext | undefined;
    // @apollo/gateway does not export the GraphQLDataSourceRequestKind enum; its value is this string.
    if ((options.kind as string) === INCOMING_OPERATION && 'incomingRequestContext' in options) {
      const context = options.context;
      operation = context;
      principal = context.principal;
      log = context.log;
      signal = context.signal;
      const incoming = options.incomingRequestContext.request.http?.headers;
      if (incoming) for (const [header, value] of forwardedHeaders(incoming, this.#options.forwardHeaders)) headers[header] = value;
      headers['x-request-id'] = context.requestId;
    }
    this.#options.traceHeaders?.(headers, operation);
    const { body, binding } = encodeBoundRequest(bound);
    const shared = isShareable(options) ? sharingKey(principal, headers, body) : undefined;

    let statusCode: number;
    let text: string;
    try {
      ({ statusCode, text } = await this.#options.guard.fetch({ timeoutMs, signal, sharingKey: shared }, async (fetchSignal) => {
        // Minted per fetch made: a shared fetch carries one token, for the one principal its key names.
        headers[identityHeader] = await mint(principal, name, { binding });
        metrics?.identityTokenMinted(name);
        const response = await undiciRequest(url, { method: 'POST', headers, body, dispatcher, signal: fetchSignal });
        const declaredLength = response.headers['content-length'] as string | undefined;
        const maxBytes = this.#options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
        return { statusCode: response.statusCode, text: await readBoundedText(response.body, { maxBytes, declaredLength, what: `subgraph ${name} response` }) };
      }));
    } catch (error) {
      log[error instanceof SubgraphFetchFailed && error.quiet ? 'debug' : 'warn']('subgraph request failed', { subgraph: name, error, cause: (error as Error).cause });
      if (operation?.outcome) operation.outcome.subgraphFailed = true;
      return this.#answer(unavailable(name, options), 'unavailable', started);
    }
    if (statusCode < 200 || statusCode >= 300) {
      // The body may say why (e.g. our identity token was refused); it belongs in the log, not the response.
      log.warn('subgraph answered an error status', { subgraph: name, status: statusCode, body: text.slice(0, 500) });
      if (operation?.outcome) operation.outcome.subgraphFailed = true;
      return this.#answer(unavailable(name, options), 'unavailable', started);
    }
    try {
      const body = JSON.parse(text) as GatewayGraphQLResponse;
      if (typeof body !== 'object' || body === null) throw new Error('not an object');
      if (this.#options.production && Array.isArray(body.errors)) body.errors.forEach(stripDebugDetail);
      return this.#answer(body, resultOf(body), started);
    } catch (error) {
      log.warn('subgraph answered invalid JSON', { subgraph: name, error });
      return this.#answer(unavailable(name, options), 'unavailable', started);
    }
  }

  /** The fetch's answer, counted (with metrics on) by its result and the time since `started`. */
  #answer(response: GatewayGraphQLResponse, result: SubgraphResult, started: number): GatewayGraphQLResponse {
    this.#options.metrics?.subgraphFetch(this.#options.name, result, (performance.now() - started) / 1000);
    return response;
  }
}

/** A fetch's result: an answer with no errors is `ok`; the gateway's own SUBGRAPH_UNAVAILABLE (./errors.ts) is `unavailable`. */
export function resultOf(response: GatewayGraphQLResponse): SubgraphResult {
  const errors = response.errors;
  if (!errors || errors.length === 0) return 'ok';
  return errors.some((error) => error.extensions?.code === 'SUBGRAPH_UNAVAILABLE') ? 'unavailable' : 'graphql_error';
}

/** Apollo Gateway passes subgraph error extensions through to the client; debug detail must not ride along. */
function stripDebugDetail(error: { extensions?: Record<string, unknown> }): void {
  if (error.extensions) {
    delete error.extensions.stacktrace;
    delete error.extensions.exception;
  }
}

/**
 * The response for a fetch that failed as a whole. Apollo Gateway places each error by its path: for an
 * entity fetch an empty path becomes the fetch's own position (e.g. ["product", "reviews", "@", "author"]);
 * for a root fetch, one error per root field the fetch was to resolve.
 */
function unavailable(subgraph: string, options: GraphQLDataSourceProcessOptions<GatewayContext>): GatewayGraphQLResponse {
  const error = (path: string[]) => ({ message: ERROR_CATALOGUE.SUBGRAPH_UNAVAILABLE.message, path, extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph } });
  const isEntityFetch = Array.isArray(options.request.variables?.representations);
  let document = 'document' in options ? options.document : undefined;
  if (!document && !isEntityFetch && options.request.query) {
    try {
      document = parse(options.request.query, { noLocation: true }); // the failure path only
    } catch {
      document = undefined;
    }
  }
  const operation = document?.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const rootKeys = isEntityFetch ? [] : (operation?.selectionSet.selections ?? []).flatMap((s) => (s.kind === Kind.FIELD ? [s.alias?.value ?? s.name.value] : []));
  const errors = rootKeys.length > 0 ? rootKeys.map((key) => error([key])) : [error([])];
  return { errors } as never;
}
