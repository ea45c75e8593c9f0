/**
 * `gatewayAuthorizationPlugin()`: the gateway enforces `@authenticated` and `@requiresScopes` from the
 * composed supergraph before planning (docs/authorization.md "Enforced at the gateway too"). Subgraphs with
 * the kit still enforce every rule; this check keeps denied fields from ever reaching a subgraph, saves the
 * fetches of fully-denied operations, and protects subgraphs that have no kit (other languages).
 *
 * How it meets Apollo Gateway: the gateway's executor plans `requestContext.document` (for
 * `request.operationName`) and caches the plan under `requestContext.queryHash`. So in didResolveOperation
 * — after validation, before execution — an operation with denied fields gets a new document *and a new
 * queryHash* (the hash of the document actually planned): two principals with different permissions never
 * share a plan, and principals with the same permissions do. Operations with nothing denied keep their
 * document, hash and cached plan.
 */
import { createHash } from 'node:crypto';
import type { ApolloServerPlugin, GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import { print, type GraphQLSchema } from 'graphql';
import type { GatewayContext } from '../context.ts';
import { catalogueError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createAccessPolicy, type AccessPolicy } from './access.ts';
import { applyDenials } from './response.ts';
import { readAuthorizationRules } from './rules.ts';
import { authorizeOperation, type AuthorizedOperation } from './transform.ts';

export interface GatewayAuthorizationOptions {
  /** Where a supergraph whose rules cannot be read is reported. */
  log?: Logger;
}

export function gatewayAuthorizationPlugin(options: GatewayAuthorizationOptions = {}): ApolloServerPlugin<GatewayContext> {
  // Keyed by the API schema Apollo Server hands each request, so a request planned against one supergraph
  // is always checked against that supergraph's rules, across reloads.
  const policies = new WeakMap<GraphQLSchema, AccessPolicy>();
  return {
    async serverWillStart() {
      return {
        schemaDidLoadOrUpdate({ apiSchema, coreSupergraphSdl }) {
          if (coreSupergraphSdl === undefined) throw new TypeError('gatewayAuthorizationPlugin needs Apollo Server in gateway mode (a supergraph)');
          try {
            policies.set(apiSchema, createAccessPolicy(apiSchema, readAuthorizationRules(coreSupergraphSdl)));
          } catch (error) {
            // At boot this fails the start. On a reload, Apollo applies the schema anyway; requests against
            // it then fail closed below. gateway/supergraph.ts refuses such a file before it gets here.
            options.log?.error('authorization rules of the supergraph cannot be read', { error });
            throw error;
          }
        },
      };
    },
    async requestDidStart() {
      let authorized: AuthorizedOperation | undefined;
      let schema: GraphQLSchema | undefined;
      return {
        async didResolveOperation(requestContext) {
          const { operation, document } = requestContext;
          if (!operation) return;
          const policy = policies.get(requestContext.schema);
          if (!policy) {
            requestContext.contextValue.log.error('no authorization rules for the current schema; refusing the operation');
            throw catalogueError('INTERNAL_SERVER_ERROR');
          }
          authorized = authorizeOperation(policy, document, operation, requestContext.contextValue.principal);
          if (!authorized) return;
          schema = requestContext.schema;
          replaceOperation(requestContext, authorized);
        },
        async willSendResponse({ response }) {
          if (!authorized || !schema || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const denials = applyDenials(schema, authorized, result);
          if (denials.length > 0) result.errors = [...denials, ...(result.errors ?? [])];
        },
      };
    },
  };
}

/** Points Apollo Server and Apollo Gateway at the authorized document; the plan cache key follows it. */
function replaceOperation(requestContext: GraphQLRequestContextDidResolveOperation<GatewayContext>, authorized: AuthorizedOperation): void {
  // These fields are typed readonly for plugins; Apollo Gateway reads them when it executes.
  const writable = requestContext as { -readonly [K in 'document' | 'operation' | 'queryHash']: (typeof requestContext)[K] };
  writable.document = authorized.document;
  writable.operation = authorized.operation;
  writable.queryHash = createHash('sha256').update(print(authorized.document)).digest('hex');
}
