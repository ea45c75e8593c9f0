/** The local stack's demo users. `sub` is their accounts user id. */
export interface DemoUser {
  sub: string;
  roles: string[];
  scope: string;
  org_id: string;
  description: string;
}

export const DEMO_USERS: Record<string, DemoUser> = {
  alice: { sub: 'u1', roles: ['admin'], scope: 'products:read inventory:read reviews:write', org_id: 'acme', description: 'admin: sees everything, may delete any review' },
  bob: { sub: 'u2', roles: ['customer'], scope: 'products:read reviews:write', org_id: 'acme', description: 'customer: may write reviews, sees only his own email' },
  carol: { sub: 'u3', roles: ['staff'], scope: 'products:read inventory:read', org_id: 'acme', description: 'staff: may read cost prices, may not write reviews' },
};
