import type { Policy } from '@frontdesk/kit';

/** Policies shared by the example subgraphs. */
export const isAdmin: Policy = (identity) => identity.roles.includes('admin');
