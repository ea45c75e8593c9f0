import { createAccountsSubgraph } from './accounts/index.ts';
import type { ExampleSubgraph, SubgraphName } from './example.ts';
import { createProductsSubgraph } from './products/index.ts';
import { createReviewsSubgraph } from './reviews/index.ts';

/** Builds a fresh example subgraph (with its own seeded store) by name. */
export const createExampleSubgraph: Record<SubgraphName, () => ExampleSubgraph<unknown, unknown>> = {
  accounts: createAccountsSubgraph as () => ExampleSubgraph<unknown, unknown>,
  products: createProductsSubgraph as () => ExampleSubgraph<unknown, unknown>,
  reviews: createReviewsSubgraph as () => ExampleSubgraph<unknown, unknown>,
};
