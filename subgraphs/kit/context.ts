/**
 * The subgraph context factory: every request is verified before Apollo parses or executes anything, and
 * resolvers get a typed `identity` and fresh per-request loaders.
 */
import { GraphQLError, Kind, parse, type OperationDefinitionNode, type SelectionNode } from 'graphql';
import { ANONYMOUS_FIELDS, type BoundRequest } from './contract.ts';
import { IdentityError, identityErrorToGraphQL } from './errors.ts';
import { readHeader, type HeaderSource, type Identity, type IdentityVerifier } from './identity.ts';
import { spanEvent } from './telemetry.ts';

export interface SubgraphContext<Loaders = unknown> {
  readonly identity: Identity;
  readonly loaders: Loaders;
  /** The gateway's request id (x-request-id), for logs. */
  readonly requestId: string | undefined;
}

export interface SubgraphContextOptions<Loaders> {
  verifier: IdentityVerifier;
  /** Builds this request's loaders; called once per request so no cache outlives it. */
  loaders: (identity: Identity) => Loaders;
  /**
   * DEVELOPMENT ONLY: answer `{ _service { sdl } }` without an identity token, so
   * `rover subgraph introspect` works against a local subgraph. Nothing else is let through. Default false.
   */
  allowSdlWithoutIdentity?: boolean;
  /** Called with the server-only reason when a request is refused. */
  onRefused?: (error: IdentityError, requestId: string | undefined) => void;
}

export interface ContextRequest {
  headers: HeaderSource;
  /** The parsed JSON body of the POST request. */
  body: unknown;
}

/** An identity for the development SDL exception; it authorizes nothing. */
const SDL_ONLY_IDENTITY: Identity = Object.freeze({
  ...ANONYMOUS_FIELDS,
  expiresAt: new Date(0),
  tokenId: '',
  authenticated: false,
});

/** Returns an Apollo Server context function body: `context: ({ headers, body }) => createContext(...)`. */
export function createContextFactory<Loaders>(
  options: SubgraphContextOptions<Loaders>,
): (request: ContextRequest) => Promise<SubgraphContext<Loaders>> {
  return async ({ headers, body }) => {
    const requestId = readRequestId(headers);
    const bound = toBoundRequest(body);
    let identity: Identity;
    try {
      if (!bound) throw new IdentityError('UNAUTHENTICATED', 'request body is not a GraphQL POST body');
      identity = await options.verifier.verify(headers, bound);
      spanEvent('frontdesk.identity.verified', { 'frontdesk.auth.method': identity.method, 'frontdesk.auth.authenticated': identity.authenticated });
    } catch (error) {
      if (!(error instanceof IdentityError)) throw refusal(new IdentityError('UNAUTHENTICATED', String(error)), options, requestId);
      if (options.allowSdlWithoutIdentity && error.code === 'UNAUTHENTICATED' && bound && isSdlOnlyQuery(bound)) {
        identity = SDL_ONLY_IDENTITY;
      } else {
        throw refusal(error, options, requestId);
      }
    }
    return { identity, loaders: options.loaders(identity), requestId };
  };
}

function refusal<L>(error: IdentityError, options: SubgraphContextOptions<L>, requestId: string | undefined): GraphQLError {
  spanEvent('frontdesk.identity.refused', { 'frontdesk.identity.code': error.code, 'frontdesk.identity.reason': error.reason.slice(0, 200) });
  options.onRefused?.(error, requestId);
  return identityErrorToGraphQL(error);
}

function toBoundRequest(body: unknown): BoundRequest | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { query, operationName, variables } = body as Record<string, unknown>;
  if (typeof query !== 'string') return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return undefined;
  }
  return { query, operationName: operationName as string | null | undefined, variables: variables as Record<string, unknown> | null };
}

function readRequestId(headers: HeaderSource): string | undefined {
  const value = readHeader(headers, 'x-request-id');
  return value !== undefined && value.length <= 128 ? value : undefined;
}

/** True for exactly `{ _service { sdl } }` (any operation name, optional __typename): rover's introspection. */
export function isSdlOnlyQuery(request: BoundRequest): boolean {
  if (request.query.length > 1_000) return false;
  let document;
  try {
    document = parse(request.query, { noLocation: true, maxTokens: 100 });
  } catch {
    return false;
  }
  const [operation, ...rest] = document.definitions;
  if (rest.length > 0 || operation?.kind !== Kind.OPERATION_DEFINITION) return false;
  const op = operation as OperationDefinitionNode;
  if (op.operation !== 'query' || (op.directives?.length ?? 0) > 0) return false;
  const onlyFields = (selections: readonly SelectionNode[], allowed: (name: string) => boolean) =>
    selections.every((s) => s.kind === Kind.FIELD && !s.alias && (s.directives?.length ?? 0) === 0 && (s.arguments?.length ?? 0) === 0 && allowed(s.name.value));
  return onlyFields(op.selectionSet.selections, (name) => name === '_service' || name === '__typename') &&
    op.selectionSet.selections.every((s) => s.kind !== Kind.FIELD || s.name.value !== '_service' ||
      (s.selectionSet !== undefined && onlyFields(s.selectionSet.selections, (name) => name === 'sdl' || name === '__typename')));
}
