/**
 * What happens to errors of an operation: an unknown operationName is the client's mistake (400, not the
 * planner's 500), unexpected errors are logged with their cause under the request id, and a masked error
 * tells the client which request id to quote. In production, formatError masks every error whose code is
 * not in the catalogue (docs/errors.md).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { GatewayContext } from '../context.ts';
import { ERROR_CATALOGUE, isCatalogueCode } from '../errors.ts';

export function operationErrorsPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        // Apollo Server leaves an unknown operationName to the executor, and Apollo Gateway's planner
        // answers it with a 500 (found by the fuzz test).
        async didResolveOperation({ operation, request }) {
          if (operation) return;
          const message = request.operationName ? `Unknown operation named "${request.operationName.slice(0, 100)}"` : 'Must provide an operation name when the document holds several';
          throw new GraphQLError(message, {
            extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: ERROR_CATALOGUE.OPERATION_RESOLUTION_FAILURE.status } },
          });
        },
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            if (code === undefined || code === 'INTERNAL_SERVER_ERROR') {
              // `err`: the serializer keeps type, message, stack and cause. A subgraph's error arrives as a
              // plain object, so the gateway's GraphQLError (its stack, the subgraph's extensions) is logged.
              contextValue.log.error('operation error', { err: error.originalError instanceof Error ? error.originalError : error, path: error.path, subgraph: error.extensions?.serviceName });
            }
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          for (const error of response.body.singleResult.errors ?? []) {
            if (error.extensions?.code === 'INTERNAL_SERVER_ERROR') (error.extensions as Record<string, unknown>).requestId = contextValue.requestId;
          }
        },
      };
    },
  };
}

/** Production: anything without a catalogue code becomes INTERNAL_SERVER_ERROR with no detail. */
export function maskUnexpected(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (isCatalogueCode(code) && code !== 'INTERNAL_SERVER_ERROR') return formatted;
  return { message: ERROR_CATALOGUE.INTERNAL_SERVER_ERROR.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
