import type { Policy } from '../kit/index.ts';

/** Policies shared by the example subgraphs. */
export const isAdmin: Policy = (identity) => identity.roles.includes('admin');
