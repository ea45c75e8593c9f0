import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { applyAuthorization, createLoader, type Policy, type SubgraphContext } from '@frontdesk/kit';
import { isAdmin, shopUserId } from '../policies.ts';
import type { ExampleSubgraph } from '../example.ts';
import { AccountsStore, type User } from './store.ts';

export type AccountsLoaders = ReturnType<typeof accountsLoaders>;
type Context = SubgraphContext<AccountsLoaders>;

const accountsLoaders = (store: AccountsStore) => ({ users: createLoader((ids: readonly string[]) => store.findUsersByIds(ids)) });

export function createAccountsSubgraph(store = new AccountsStore()): ExampleSubgraph<AccountsLoaders, AccountsStore> {
  const typeDefs = parse(readFileSync(new URL('../../../schema/accounts.graphql', import.meta.url), 'utf8'));
  const resolvers = {
    Query: {
      me: (_: unknown, __: unknown, { identity, loaders }: Context) => {
        const userId = shopUserId(identity);
        return userId === undefined ? null : loaders.users.load(userId);
      },
      user: (_: unknown, { id }: { id: string }, { loaders }: Context) => loaders.users.load(id),
      users: async (_: unknown, __: unknown, { loaders }: Context) => {
        const users = await store.listUsers();
        for (const user of users) loaders.users.prime(user.id, user);
        return users;
      },
    },
    User: {
      __resolveReference: (ref: Pick<User, 'id'>, { loaders }: Context) => loaders.users.load(ref.id),
    },
  };
  return {
    name: 'accounts',
    schema: applyAuthorization<Context>(buildSubgraphSchema({ typeDefs, resolvers: resolvers as never }), {
      policies: {
        // "a user may read their own email": the policy sees the User being resolved, and compares
        // principal ids — a bare `sub` is unique only within its issuer.
        self: ((identity, { parent }) => shopUserId(identity) !== undefined && shopUserId(identity) === (parent as User).id) as Policy<Context>,
        admin: isAdmin,
      },
    }),
    store,
    loaders: () => accountsLoaders(store),
  };
}
