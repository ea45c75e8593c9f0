import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import { applyAuthorization, createLoader, type SubgraphContext } from '@frontdesk/kit';
import type { ExampleSubgraph } from '../example.ts';
import { ProductsStore, type Product } from './store.ts';

export type ProductsLoaders = ReturnType<typeof productsLoaders>;
type Context = SubgraphContext<ProductsLoaders>;

const productsLoaders = (store: ProductsStore) => ({
  products: createLoader((upcs: readonly string[]) => store.findProductsByUpcs(upcs)),
});

/** Largest page `topProducts(first:)` serves. */
const MAX_PAGE = 100;

export function createProductsSubgraph(store = new ProductsStore()): ExampleSubgraph<ProductsLoaders, ProductsStore> {
  const typeDefs = parse(readFileSync(new URL('../../../schema/products.graphql', import.meta.url), 'utf8'));
  const resolvers = {
    Query: {
      topProducts: async (_: unknown, { first }: { first: number }, { loaders }: Context) => {
        if (first < 0 || first > MAX_PAGE) {
          throw new GraphQLError(`first must be between 0 and ${MAX_PAGE}`, { extensions: { code: 'BAD_USER_INPUT' } });
        }
        const products = await store.topProducts(first);
        for (const product of products) loaders.products.prime(product.upc, product);
        return products;
      },
      product: (_: unknown, { upc }: { upc: string }, { loaders }: Context) => loaders.products.load(upc),
    },
    Product: {
      __resolveReference: (ref: Pick<Product, 'upc'>, { loaders }: Context) => loaders.products.load(ref.upc),
    },
  };
  return {
    name: 'products',
    schema: applyAuthorization<Context>(buildSubgraphSchema({ typeDefs, resolvers: resolvers as never })),
    store,
    loaders: () => productsLoaders(store),
  };
}
