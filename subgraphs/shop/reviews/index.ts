import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import DataLoader from 'dataloader';
import { GraphQLError, parse } from 'graphql';
import { applyAuthorization, createLoader, type Policy, type SubgraphContext } from '@frontdesk/kit';
import { isAdmin, shopUserId } from '../policies.ts';
import type { ExampleSubgraph } from '../example.ts';
import { ReviewsStore, type Review } from './store.ts';

export type ReviewsLoaders = ReturnType<typeof reviewsLoaders>;
type Context = SubgraphContext<ReviewsLoaders>;

const reviewsLoaders = (store: ReviewsStore) => ({
  reviews: createLoader((ids: readonly string[]) => store.findReviewsByIds(ids)),
  reviewsByAuthor: new DataLoader((ids: readonly string[]) => store.findReviewsByAuthorIds(ids)),
  reviewsByProduct: new DataLoader((upcs: readonly string[]) => store.findReviewsByUpcs(upcs)),
});

const MAX_BODY_LENGTH = 2_000;

const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

export function createReviewsSubgraph(store = new ReviewsStore()): ExampleSubgraph<ReviewsLoaders, ReviewsStore> {
  const typeDefs = parse(readFileSync(new URL('../../../schema/reviews.graphql', import.meta.url), 'utf8'));
  const resolvers = {
    Review: {
      __resolveReference: (ref: Pick<Review, 'id'>, { loaders }: Context) => loaders.reviews.load(ref.id),
      author: (review: Review) => ({ __typename: 'User', id: review.authorId }),
      product: (review: Review) => ({ __typename: 'Product', upc: review.upc }),
    },
    User: {
      reviews: (user: { id: string }, _: unknown, { loaders }: Context) => loaders.reviewsByAuthor.load(user.id),
    },
    Product: {
      reviews: (product: { upc: string }, _: unknown, { loaders }: Context) => loaders.reviewsByProduct.load(product.upc),
    },
    Mutation: {
      createReview: async (_: unknown, args: { upc: string; body: string; rating: number }, { identity }: Context) => {
        // @requiresScopes(reviews:write) already refused anonymous callers; a service identity has no scopes.
        const authorId = shopUserId(identity);
        if (authorId === undefined) throw new GraphQLError('Only shop accounts write reviews', { extensions: { code: 'FORBIDDEN' } });
        if (!Number.isInteger(args.rating) || args.rating < 1 || args.rating > 5) throw badInput('rating must be 1 to 5');
        if (args.body.trim().length === 0 || args.body.length > MAX_BODY_LENGTH) {
          throw badInput(`body must be 1 to ${MAX_BODY_LENGTH} characters`);
        }
        return store.createReview({ authorId, upc: args.upc, body: args.body, rating: args.rating });
      },
      deleteReview: (_: unknown, { id }: { id: string }) => store.deleteReview(id),
    },
  };
  return {
    name: 'reviews',
    schema: applyAuthorization<Context>(buildSubgraphSchema({ typeDefs, resolvers: resolvers as never }), {
      policies: {
        // The policy sees the mutation's arguments and the request's loaders: "the author may delete it".
        review_author: (async (identity, { args, context }) => {
          const review = await context.loaders.reviews.load(String(args.id));
          return review !== null && shopUserId(identity) !== undefined && shopUserId(identity) === review.authorId;
        }) as Policy<Context>,
        admin: isAdmin,
      },
    }),
    store,
    loaders: () => reviewsLoaders(store),
  };
}
