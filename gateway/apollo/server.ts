/**
 * Apollo Server over Apollo Gateway, configured for frontdesk: request limits, the gateway's own
 * authorization check, JSON-only compact responses, APQ off, CSRF prevention on, production masking, no
 * reporting to Apollo Studio, and the operation-errors plugin.
 */
import type { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { gatewayAuthorizationPlugin } from '../authz/index.ts';
import type { GatewayConfig } from '../config/types.ts';
import type { GatewayContext } from '../context.ts';
import { apolloLogger, type Logger } from '../log.ts';
import { requestLimits } from './limits.ts';
import { noReportingPlugins } from './no-reporting.ts';
import { maskUnexpected, operationErrorsPlugin } from './operation-errors.ts';

/**
 * `plugins` run after frontdesk's own; `beforeAuthorization` before the gateway's authorization check
 * rewrites the document (the rate limit charges the operation as the client sent it).
 */
export function createApolloServer(
  config: GatewayConfig,
  gateway: ApolloGateway,
  log: Logger,
  plugins: ApolloServerPlugin<GatewayContext>[] = [],
  beforeAuthorization: ApolloServerPlugin<GatewayContext>[] = [],
): ApolloServer<GatewayContext> {
  const limits = requestLimits(config);
  return new ApolloServer<GatewayContext>({
    gateway,
    validationRules: limits.validationRules,
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
    // The gateway's own @authenticated/@requiresScopes check removes denied fields before planning
    // (docs/authorization.md "Enforced at the gateway too").
    // No usage or schema reporting to Apollo Studio, whatever APOLLO_* variables are set (./no-reporting.ts).
    plugins: [...noReportingPlugins(), ...limits.plugins, ...beforeAuthorization, gatewayAuthorizationPlugin({ log }), operationErrorsPlugin(), ...plugins],
  });
}
