import { USER_COUNT, pick, seededRandom, userId } from '../seed.ts';

export type Role = 'CUSTOMER' | 'STAFF' | 'ADMIN';

export interface User {
  id: string;
  name: string;
  username: string;
  email: string;
  role: Role;
}

/** The demo users of the local token issuer; their ids are the `sub` of their tokens. */
const DEMO_USERS: readonly User[] = [
  { id: 'u1', name: 'Alice Admin', username: 'alice', email: 'alice@shop.example', role: 'ADMIN' },
  { id: 'u2', name: 'Bob Buyer', username: 'bob', email: 'bob@shop.example', role: 'CUSTOMER' },
  { id: 'u3', name: 'Carol Clerk', username: 'carol', email: 'carol@shop.example', role: 'STAFF' },
];

const FIRST = ['Ada', 'Grace', 'Linus', 'Ken', 'Barbara', 'Edsger', 'Frances', 'Donald', 'Radia', 'Niklaus'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Thompson', 'Liskov', 'Dijkstra', 'Allen', 'Knuth', 'Perlman', 'Wirth'];

function seedUsers(): User[] {
  const random = seededRandom(1);
  const users = [...DEMO_USERS];
  for (let n = users.length + 1; n <= USER_COUNT; n++) {
    const first = pick(random, FIRST);
    const last = pick(random, LAST);
    const username = `${first}.${last}.${n}`.toLowerCase();
    users.push({ id: userId(n), name: `${first} ${last}`, username, email: `${username}@shop.example`, role: 'CUSTOMER' });
  }
  return users;
}

/**
 * The accounts data layer. Batch-shaped on purpose (one call for many ids) so it can be swapped for a
 * database; `calls` counts invocations so tests can prove that resolvers batch.
 */
export class AccountsStore {
  readonly calls = { findUsersByIds: 0, listUsers: 0 };
  readonly #users = new Map<string, User>(seedUsers().map((user) => [user.id, user]));

  /** One result per id, in order; `undefined` where no user has that id. */
  async findUsersByIds(ids: readonly string[]): Promise<(User | undefined)[]> {
    this.calls.findUsersByIds++;
    return ids.map((id) => this.#users.get(id));
  }

  async listUsers(): Promise<User[]> {
    this.calls.listUsers++;
    return [...this.#users.values()];
  }
}
