import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { authorizationReport } from '../../../scripts/authz-report.ts';

describe('npm run authz', () => {
  const rows = authorizationReport(readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8'));
  const byField = Object.fromEntries(rows.map((row) => [row.coordinate, row]));

  it('lists each protected field of the composed supergraph with its rules and subgraph', () => {
    expect(byField['Query.me']).toEqual({ coordinate: 'Query.me', subgraphs: ['accounts'], rules: '@authenticated', public: false });
    expect(byField['User.email']?.rules).toBe('policy self OR admin');
    expect(byField['Product.costPrice']).toMatchObject({ subgraphs: ['products'], rules: 'scopes inventory:read' });
    expect(byField['Mutation.createReview']).toMatchObject({ subgraphs: ['reviews'], rules: 'scopes reviews:write' });
    expect(byField['Mutation.deleteReview']?.rules).toBe('policy review_author OR admin');
    // A type-level rule (enum Role @authenticated) shows on the field returning it.
    expect(byField['User.role']?.rules).toBe('@authenticated');
  });

  it('lists exactly the fields with no rule as reachable without authentication', () => {
    const open = rows.filter((row) => row.public).map((row) => row.coordinate);
    expect(open).toContain('Query.topProducts');
    expect(open).not.toContain('User.email');
    expect(open).not.toContain('Query.users');
    expect(rows.filter((row) => !row.public)).toHaveLength(7);
  });
});
