/**
 * The gateway service: Apollo Server + Apollo Gateway behind a small node:http front that answers health,
 * readiness and the identity JWKS, bounds the body, authenticates once, then hands the request to Apollo.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { Agent } from 'undici';
import { servicePrincipal, type Principal } from './auth/principal.ts';
import { createAuthenticator, type Authenticator } from './auth/authenticate.ts';
import { gatewayAuthorizationPlugin } from './authz/index.ts';
import type { GatewayConfig } from './config/types.ts';
import { SubgraphDataSource, type GatewayContext } from './datasource.ts';
import { AuthError, ERROR_CATALOGUE, authErrorResponse } from './errors.ts';
import { loadIdentityKeys, type IdentityKeys } from './identity/keys.ts';
import { createIdentityMinter } from './identity/mint.ts';
import { apolloLogger, createLogger, type Logger } from './log.ts';
import { supergraphFromFile, supergraphSubgraphs } from './supergraph.ts';
import { readBody, sendJson, toHeaderMap, writeResponse } from '../subgraphs/kit/http.ts';

export interface GatewayOptions {
  log?: Logger;
  /** Clock, for tests. */
  now?: () => number;
  /** Supergraph file poll interval in ms. Default 1000. */
  supergraphPollMs?: number;
}

export interface RunningGateway {
  /** http://host:port */
  url: string;
  server: Server;
  authenticator: Authenticator;
  keys: IdentityKeys;
  /** Stops accepting, drains in-flight requests (up to shutdownGrace), then closes everything. */
  close(): Promise<void>;
}

export class BootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootError';
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const log = options.log ?? createLogger({ level: config.logLevel, base: { service: 'gateway' } });
  const keys = await loadIdentityKeys(config.identity, log);
  const supergraph = supergraphFromFile(config.supergraph, log, options.supergraphPollMs);
  const declared = supergraphSubgraphs(supergraph.initial);
  const unknown = Object.keys(config.subgraphs).filter((name) => !declared.has(name));
  if (unknown.length > 0) {
    throw new BootError(`subgraphs: ${unknown.join(', ')} not in the supergraph (it has ${[...declared.keys()].join(', ')}); fix the name or recompose`);
  }

  const authenticator = createAuthenticator(config.auth, { log, ...(options.now ? { now: options.now } : {}) });
  const mint = createIdentityMinter({ issuer: config.identity.issuer, key: keys.signing, ttlMs: config.identity.ttlMs, ...(options.now ? { now: options.now } : {}) });
  // maxResponseSize bounds every subgraph response, chunked ones included (32 MiB).
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: config.subgraphDefaults.maxConnections, maxResponseSize: 32 * 1_048_576 });

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

  // Request limits from a maintained library (GraphQL Armor) rather than hand-written validators. Each
  // refusal is a 400 before planning, so no subgraph is called.
  const armor = new ApolloArmor({
    maxDepth: { n: config.limits.depth },
    maxAliases: { n: config.limits.aliases },
    // graphql-js enforces the token limit while parsing (parseOptions below): a 400 GRAPHQL_PARSE_FAILED.
    // Armor's max-tokens plugin throws from a hook that Apollo Server 5 answers with a 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: config.limits.directives },
    costLimit: { maxCost: config.limits.cost },
    blockFieldSuggestion: { enabled: config.production },
  }).protect();
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: config.limits.tokens },
    logger: apolloLogger(log),
    introspection: !config.production,
    includeStacktraceInErrorResponses: !config.production,
    hideSchemaDetailsFromClientErrors: config.production,
    csrfPrevention: true,
    // Automatic persisted queries off: an unbounded-by-default cache any anonymous client can fill, and a
    // bad hash surfaces as INTERNAL_SERVER_ERROR. Clients get PERSISTED_QUERY_NOT_SUPPORTED.
    persistedQueries: false,
    // Apollo's default pretty-prints every response (JSON.stringify(value, null, 2)): bytes and time.
    stringifyResult: (value) => JSON.stringify(value),
    allowBatchedHttpRequests: config.limits.batchedOperations > 0,
    formatError: config.production ? maskUnexpected : (formatted) => formatted,
    plugins: [
      // GraphQL Armor is typed against the CommonJS build of @apollo/server; the plugin objects are the same.
      ...(armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[]),
      gatewayAuthorizationPlugin({ log }),
      {
        async requestDidStart() {
          return {
            // Apollo Server leaves an unknown operationName to the executor, and Apollo Gateway's planner
            // answers it with a 500 (found by the fuzz test). It is the client's mistake: 400.
            async didResolveOperation({ operation, request }) {
              if (operation) return;
              const message = request.operationName ? `Unknown operation named "${request.operationName.slice(0, 100)}"` : 'Must provide an operation name when the document holds several';
              throw new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } });
            },
            async didEncounterErrors({ errors, contextValue }) {
              for (const error of errors) {
                const code = error.extensions?.code;
                if (code === undefined || code === 'INTERNAL_SERVER_ERROR') {
                  contextValue.log.error('operation error', { error: error.originalError ?? error, path: error.path, subgraph: error.extensions?.serviceName });
                }
              }
            },
            // A masked error says which request to look up in the log.
            async willSendResponse({ response, contextValue }) {
              if (response.body.kind !== 'single') return;
              for (const error of response.body.singleResult.errors ?? []) {
                if (error.extensions?.code === 'INTERNAL_SERVER_ERROR') (error.extensions as Record<string, unknown>).requestId = contextValue.requestId;
              }
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  let draining = false;
  let inflight = 0;
  let idle: (() => void) | undefined;
  const jwksBody = JSON.stringify(keys.jwks);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && url.pathname === '/readyz') return sendJson(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ready' });
    if (req.method === 'GET' && url.pathname === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=60' });
      res.end(jwksBody);
      return;
    }
    if (url.pathname !== '/graphql' && url.pathname !== '/') return sendJson(res, 404, errorBody('BAD_REQUEST', 'Not found'));

    // The client's request id is kept when it is a safe token and not declared hop-by-hop (Connection).
    const incomingId = req.headers['x-request-id'];
    const hopByHop = /(^|,)\s*x-request-id\s*(,|$)/i.test(req.headers.connection ?? '');
    const requestId = typeof incomingId === 'string' && !hopByHop && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    res.setHeader('x-request-id', requestId);
    const requestLog = log.child({ requestId });
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendJson(res, 405, errorBody('BAD_REQUEST', 'Only POST is accepted'));
    }
    const raw = await readBody(req, config.limits.bodyBytes);
    if (raw === undefined) return sendJson(res, 413, errorBody('BAD_REQUEST', `Request body exceeds ${config.limits.bodyBytes} bytes`));
    // JSON only: also what makes a cross-site form post impossible (with Apollo's CSRF preflight rule).
    if (!/^application\/(graphql-response\+)?json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return sendJson(res, 415, errorBody('BAD_REQUEST', 'Content-Type must be application/json'));
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendJson(res, 400, errorBody('BAD_REQUEST', 'Request body is not valid JSON'));
    }
    if (Array.isArray(body)) {
      if (config.limits.batchedOperations === 0) return sendJson(res, 400, errorBody('BAD_REQUEST', 'Batched requests are not accepted'));
      if (body.length === 0 || body.length > config.limits.batchedOperations) {
        return sendJson(res, 400, errorBody('BAD_REQUEST', `A batch holds 1 to ${config.limits.batchedOperations} operations`));
      }
    }

    let principal: Principal;
    try {
      principal = await authenticator.authenticate({ rawHeaders: req.rawHeaders, search: url.search });
    } catch (error) {
      const authError = error instanceof AuthError ? error : AuthError.unavailable('unexpected authentication failure', error);
      requestLog[authError.code === 'AUTH_UNAVAILABLE' ? 'warn' : 'info']('authentication refused', {
        code: authError.code,
        reason: authError.reason,
        cause: authError.cause,
      });
      const { status, headers, error: graphQLError } = authErrorResponse(authError, config.auth.realm);
      return sendJson(res, status, { errors: [graphQLError.toJSON()] }, headers);
    }

    const headers = toHeaderMap(req);
    const context: GatewayContext = { requestId, principal, log: requestLog };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: url.search, body },
      context: async () => context,
    });
    await writeResponse(res, response);
  };

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, (req, res) => {
    inflight++;
    res.once('close', () => {
      inflight--;
      if (inflight === 0) idle?.();
    });
    handle(req, res).catch((error: unknown) => {
      log.error('unhandled request error', { error });
      if (!res.headersSent) sendJson(res, 500, errorBody('INTERNAL_SERVER_ERROR', ERROR_CATALOGUE.INTERNAL_SERVER_ERROR.message));
      else res.destroy();
    });
  });
  // Requests Node's HTTP parser refuses (headers over 16 KiB, malformed request lines) still get a JSON
  // answer from the catalogue rather than a bare status line.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy();
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify(errorBody('BAD_REQUEST', tooLarge ? 'Request headers too large' : 'Malformed HTTP request'));
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    authenticator,
    keys,
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

function errorBody(code: keyof typeof ERROR_CATALOGUE, message: string) {
  return { errors: [{ message, extensions: { code } }] };
}

/** Production: anything without a catalogue code becomes INTERNAL_SERVER_ERROR with no detail. */
function maskUnexpected(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return formatted;
  return { message: ERROR_CATALOGUE.INTERNAL_SERVER_ERROR.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
