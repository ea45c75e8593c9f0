/**
 * Rate limits inside GraphQL (docs/fleet.md "Rate limits"): once the operation is validated and resolved,
 * and before it is planned — so before any subgraph call — its cost (./operation-cost.ts) is spent from
 * the caller's budget in one atomic call. Over budget: 429 RATE_LIMITED with `Retry-After`; store
 * unavailable with `rateLimit.storeUnavailable: closed`: 503 AUTH_UNAVAILABLE. Every charged answer
 * carries `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers). Each operation of
 * a batch is charged on its own; the batch's one `RateLimit` shows the lowest remaining.
 */
import { HeaderMap, type ApolloServerPlugin, type HTTPGraphQLHead } from '@apollo/server';
import { GraphQLError, Kind, type FragmentDefinitionNode } from 'graphql';
import type { GatewayContext } from '../context.ts';
import { AUTH_RETRY_AFTER_SECONDS, ERROR_CATALOGUE } from '../errors.ts';
import { limitField, policyField, resetSeconds } from '../rate-limit/headers.ts';
import type { RateLimiter } from '../rate-limit/limiter.ts';
import { operationCost, type CostOptions } from './operation-cost.ts';

export function rateLimitPlugin(limiter: RateLimiter, cost: CostOptions): ApolloServerPlugin<GatewayContext> {
  // A batch shares one response head (Apollo Server's runBatchedHttpQuery): the lowest remaining wins.
  const lowest = new WeakMap<HTTPGraphQLHead, number>();
  const policies = new Map<string, string>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, contextValue, response }) {
          if (!operation) return; // the operation-errors plugin answers 400
          const fragments: Record<string, FragmentDefinitionNode> = {};
          for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
          const spent = operationCost(operation, fragments, request.variables, cost);
          const charge = await limiter.charge(contextValue.principal, contextValue.clientAddress, spent);
          if (charge.kind === 'unlimited') return;
          if (charge.kind === 'unavailable') {
            if (charge.decision === 'open') return;
            throw new GraphQLError(ERROR_CATALOGUE.AUTH_UNAVAILABLE.message, {
              extensions: { code: 'AUTH_UNAVAILABLE', http: { status: 503, headers: new HeaderMap([['retry-after', String(AUTH_RETRY_AFTER_SECONDS)]]) } },
            });
          }
          let policy = policies.get(charge.rule);
          if (policy === undefined) policies.set(charge.rule, (policy = policyField(charge.rule, charge.budget, charge.windowSeconds)));
          if (charge.kind === 'limited') {
            // debug: the access line already records the 429, and a flood of refusals must not double the log.
            contextValue.log.debug('rate limited', { rule: charge.rule, cost: spent });
            const headers = new HeaderMap([
              ['retry-after', String(resetSeconds(charge.resetMs))],
              ['ratelimit-policy', policy],
              ['ratelimit', limitField(charge.rule, 0, charge.resetMs)],
            ]);
            lowest.set(response.http, 0);
            throw new GraphQLError(ERROR_CATALOGUE.RATE_LIMITED.message, { extensions: { code: 'RATE_LIMITED', http: { status: 429, headers } } });
          }
          const seen = lowest.get(response.http);
          if (seen !== undefined && seen <= charge.remaining) return;
          lowest.set(response.http, charge.remaining);
          response.http.headers.set('ratelimit-policy', policy);
          response.http.headers.set('ratelimit', limitField(charge.rule, charge.remaining, charge.resetMs));
        },
      };
    },
  };
}
