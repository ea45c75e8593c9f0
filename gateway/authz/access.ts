/**
 * Which fields a principal may see, by the supergraph's rules, with the semantics of the subgraph kit
 * (docs/authorization.md "Where each rule applies"): on a concrete object type, a field obeys its own
 * rules, the same field's rules on every interface the type implements, the rules on the type and on its
 * interfaces, and the rules on the type it returns (and that type's interfaces). Outer lists are OR, inner
 * lists AND; scopes match exactly.
 */
import {
  getNamedType,
  isInterfaceType,
  isObjectType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import type { Principal } from '../auth/principal.ts';
import type { AccessRule, AuthorizationRules } from './rules.ts';

/** Why a field is denied, with the same code and coordinate the kit reports. */
export interface Denial {
  readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  /** "Type.field" of the concrete object type. */
  readonly coordinate: string;
}

/** The requirements of every field of one API schema, computed once per field and reused for every request. */
export interface AccessPolicy {
  readonly schema: GraphQLSchema;
  /** Whether the supergraph declares any rule at all (when not, operations are left untouched). */
  readonly empty: boolean;
  /** The denial for `principal` reading `type.field`, or undefined when allowed. */
  check(principal: Principal, type: GraphQLObjectType, fieldName: string): Denial | undefined;
}

interface Combined {
  authenticated: boolean;
  scopes: (readonly (readonly string[])[])[];
}

export function createAccessPolicy(schema: GraphQLSchema, rules: AuthorizationRules): AccessPolicy {
  const empty = rules.types.size === 0 && rules.fields.size === 0;
  const combined = new Map<string, Combined | null>();

  const typeRules = (type: GraphQLNamedType): AccessRule[] => {
    const own = rules.types.get(type.name);
    const inherited = isObjectType(type) || isInterfaceType(type) ? type.getInterfaces().map((i) => rules.types.get(i.name)) : [];
    return [own, ...inherited].filter((rule): rule is AccessRule => rule !== undefined);
  };

  const requirements = (type: GraphQLObjectType, fieldName: string): Combined | null => {
    const coordinate = `${type.name}.${fieldName}`;
    const cached = combined.get(coordinate);
    if (cached !== undefined) return cached;
    const field = type.getFields()[fieldName];
    const all: AccessRule[] = [];
    if (field) {
      const own = rules.fields.get(coordinate);
      if (own) all.push(own);
      for (const iface of type.getInterfaces()) {
        const inherited = rules.fields.get(`${iface.name}.${fieldName}`);
        if (inherited) all.push(inherited);
      }
      all.push(...typeRules(type), ...typeRules(getNamedType(field.type)));
    }
    const merged = all.length === 0 ? null : { authenticated: all.some((r) => r.authenticated), scopes: all.flatMap((r) => r.scopes) };
    combined.set(coordinate, merged);
    return merged;
  };

  return {
    schema,
    empty,
    check(principal, type, fieldName) {
      if (empty) return undefined;
      const required = requirements(type, fieldName);
      if (required === null) return undefined;
      const authenticated = principal.method !== 'anonymous';
      const allowed =
        (!required.authenticated || authenticated) &&
        required.scopes.every((alternatives) => alternatives.some((set) => set.every((scope) => principal.scopes.includes(scope))));
      if (allowed) return undefined;
      // As the kit: an anonymous caller is told to authenticate, whichever rule failed.
      return { code: authenticated ? 'FORBIDDEN' : 'UNAUTHENTICATED', coordinate: `${type.name}.${fieldName}` };
    },
  };
}
