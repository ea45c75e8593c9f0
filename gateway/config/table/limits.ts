/** Config table: what one request may ask of the gateway. */
import { integer, section } from './fields.ts';

export const limits = section('What one request may ask.', {
  bodyBytes: integer({ default: 1_048_576, min: 1_024, max: 104_857_600, unit: 'bytes', doc: 'larger request bodies get 413' }),
  depth: integer({ default: 10, min: 1, max: 100, doc: 'deepest field nesting (GraphQL Armor max-depth)' }),
  aliases: integer({ default: 15, min: 0, max: 1_000, doc: 'most aliases per operation, fragments included (Armor max-aliases)' }),
  tokens: integer({ default: 2_000, min: 10, max: 100_000, doc: 'most parser tokens per document (graphql-js `maxTokens`; 400 `GRAPHQL_PARSE_FAILED`)' }),
  directives: integer({ default: 50, min: 0, max: 1_000, doc: 'most directives per operation (Armor max-directives)' }),
  cost: integer({ default: 5_000, min: 1, max: 1_000_000, doc: 'highest operation cost (Armor cost-limit: each field 1, depth and fragments weighted)' }),
  batchedOperations: integer({ default: 0, min: 0, max: 100, doc: 'most operations in one batched request; `0`: batching off (400)' }),
});
