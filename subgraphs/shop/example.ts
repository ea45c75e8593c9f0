/**
 * The example shop's subgraphs and how to run one: each is an ordinary Apollo subgraph that uses the kit
 * exactly as a subgraph team would (identity verification in the context, per-request loaders).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import {
  answerClientError,
  AUTHZ_DENIED_CHANNEL,
  createContextFactory,
  createIdentityVerifier,
  createSubgraphHandler,
  type AuthzDenial,
  type Identity,
  type IdentityVerifierOptions,
  type SubgraphContext,
} from '@frontdesk/kit';

export interface ExampleSubgraph<Loaders, Store> {
  name: string;
  schema: GraphQLSchema;
  /** The data layer, shared by all requests of this process. */
  store: Store;
  /** Fresh loaders for one request. */
  loaders: (identity: Identity) => Loaders;
}

export const SUBGRAPH_NAMES = ['accounts', 'products', 'reviews'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** Ports the local stack uses; `PORT` overrides. */
export const DEFAULT_PORTS: Record<SubgraphName, number> = { accounts: 4001, products: 4002, reviews: 4003 };

export interface RunSubgraphOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** How to verify the gateway's identity tokens; `subgraph` defaults to the example's name. */
  identity: Omit<IdentityVerifierOptions, 'subgraph'> & { subgraph?: string };
  /** DEVELOPMENT ONLY: let `rover subgraph introspect` read the SDL without an identity token. */
  allowSdlWithoutIdentity?: boolean;
  /** Structured log sink; default writes JSON lines to stdout. */
  log?: (entry: Record<string, unknown>) => void;
}

export interface RunningSubgraph {
  name: string;
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function runSubgraph<L, S>(subgraph: ExampleSubgraph<L, S>, options: RunSubgraphOptions): Promise<RunningSubgraph> {
  const log = options.log ?? ((entry) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), service: subgraph.name, ...entry })}\n`));
  const apollo = new ApolloServer<SubgraphContext<L>>({
    schema: subgraph.schema,
    includeStacktraceInErrorResponses: process.env.NODE_ENV !== 'production',
    logger: jsonLogger(log),
  });
  await apollo.start();
  const verifier = createIdentityVerifier({ ...options.identity, subgraph: options.identity.subgraph ?? subgraph.name });
  const context = createContextFactory<L>({
    verifier,
    loaders: subgraph.loaders,
    allowSdlWithoutIdentity: options.allowSdlWithoutIdentity ?? false,
    onRefused: (error, requestId) => log({ level: 'warn', msg: 'request refused', audit: true, code: error.code, reason: error.reason, requestId }),
  });
  // The audit stream of field denials: the kit publishes each one; this subgraph logs its own requests'
  // (several subgraphs may share a process, as in the tests).
  // Apollo Server hands resolvers a shallow copy of the context: a symbol-keyed mark travels with it.
  const ours = Symbol(subgraph.name);
  const onDenied = (message: unknown) => {
    const { coordinate, code, context: deniedIn } = message as AuthzDenial;
    if (typeof deniedIn !== 'object' || deniedIn === null || !(ours in deniedIn)) return;
    const { identity, requestId } = deniedIn as unknown as SubgraphContext<L>;
    log({ level: 'info', msg: 'field denied', audit: true, field: coordinate, code, method: identity.method, issuer: identity.issuer, requestId });
  };
  subscribe(AUTHZ_DENIED_CHANNEL, onDenied);
  const contextOf = async (request: Parameters<typeof context>[0]) => {
    return Object.assign(await context(request), { [ours]: true });
  };
  const server = createServer({ keepAliveTimeout: 65_000 }, createSubgraphHandler({ server: apollo, context: contextOf }));
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    name: subgraph.name,
    url: `http://${host}:${port}/graphql`,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await apollo.stop();
      unsubscribe(AUTHZ_DENIED_CHANNEL, onDenied);
    },
  };
}

function jsonLogger(log: (entry: Record<string, unknown>) => void) {
  return {
    debug: () => {},
    info: (msg: string) => log({ level: 'info', msg }),
    warn: (msg: string) => log({ level: 'warn', msg }),
    error: (msg: string) => log({ level: 'error', msg }),
  };
}
