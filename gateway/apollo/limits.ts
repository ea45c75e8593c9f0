/**
 * Request limits from a maintained library (GraphQL Armor) rather than hand-written validators: depth,
 * aliases, directives and cost. Each refusal is a 400 GRAPHQL_VALIDATION_FAILED before planning, so no
 * subgraph is called. The parser token limit is graphql-js's own (`parseOptions` in ./server.ts).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ValidationRule } from 'graphql';
import type { GatewayConfig } from '../config/types.ts';
import type { GatewayContext } from '../context.ts';

export interface RequestLimits {
  validationRules: ValidationRule[];
  plugins: ApolloServerPlugin<GatewayContext>[];
}

export function requestLimits(config: Pick<GatewayConfig, 'limits' | 'production'>): RequestLimits {
  const armor = new ApolloArmor({
    maxDepth: { n: config.limits.depth },
    maxAliases: { n: config.limits.aliases },
    // graphql-js enforces the token limit while parsing: a 400 GRAPHQL_PARSE_FAILED. Armor's max-tokens
    // plugin throws from a hook that Apollo Server 5 answers with a 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: config.limits.directives },
    costLimit: { maxCost: config.limits.cost },
    blockFieldSuggestion: { enabled: config.production },
  }).protect();
  return {
    validationRules: armor.validationRules as ValidationRule[],
    // GraphQL Armor is typed against the CommonJS build of @apollo/server; the plugin objects are the same.
    plugins: armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[],
  };
}
