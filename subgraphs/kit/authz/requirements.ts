/**
 * Reads the authorization requirements declared on a schema's fields and types, under the directive names
 * the schema's `@link` of frontdesk's spec gives them (link.ts).
 */
import {
  getNamedType,
  isEnumType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  Kind,
  type ConstDirectiveNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLInterfaceType,
  type GraphQLSchema,
} from 'graphql';
import { resolveAuthzDirectives, type AuthzDirective } from './link.ts';

/** Every condition must hold (AND); each condition is an OR of AND-sets. */
export interface Requirements {
  authenticated: boolean;
  /** Each entry is one @requiresScopes: satisfied when any inner set is fully held. */
  scopes: string[][][];
  /** Each entry is one @policy: satisfied when every policy of any inner set allows. */
  policies: string[][][];
}

export const NONE: Requirements = Object.freeze({ authenticated: false, scopes: [], policies: [] }) as Requirements;

export function isEmpty(requirements: Requirements): boolean {
  return !requirements.authenticated && requirements.scopes.length === 0 && requirements.policies.length === 0;
}

export function merge(...all: Requirements[]): Requirements {
  return {
    authenticated: all.some((r) => r.authenticated),
    scopes: all.flatMap((r) => r.scopes),
    policies: all.flatMap((r) => r.policies),
  };
}

/** Local directive name → the spec directive it stands for (resolveAuthzDirectives). */
export type DirectiveNames = ReadonlyMap<string, AuthzDirective>;

function fromDirectives(directives: readonly ConstDirectiveNode[] | undefined, names: DirectiveNames): Requirements {
  const out: Requirements = { authenticated: false, scopes: [], policies: [] };
  for (const directive of directives ?? []) {
    const name = names.get(directive.name.value);
    if (name === 'authenticated') out.authenticated = true;
    else if (name === 'requiresScopes') out.scopes.push(listOfLists(directive, 'scopes'));
    else if (name === 'policy') out.policies.push(listOfLists(directive, 'policies'));
  }
  return out;
}

function listOfLists(directive: ConstDirectiveNode, argument: string): string[][] {
  const value = directive.arguments?.find((arg) => arg.name.value === argument)?.value;
  if (value?.kind !== Kind.LIST) throw new TypeError(`@${directive.name.value}(${argument}:) must be a list of lists of strings`);
  return value.values.map((inner) => {
    // GraphQL input coercion lets a single value stand for a one-item list.
    const items = inner.kind === Kind.LIST ? inner.values : [inner];
    return items.map((item) => {
      if (item.kind !== Kind.STRING) throw new TypeError(`@${directive.name.value}(${argument}:) must hold strings`);
      return item.value;
    });
  });
}

export interface RequirementsReader {
  /**
   * Everything that must hold to resolve `type.field`: the field's own rules and those of the same field
   * on the interfaces the type implements; the type's rules and its interfaces' type rules; and the
   * return type's (see returnType). What the kit enforces and `npm run authz` reports.
   */
  effective(type: GraphQLObjectType | GraphQLInterfaceType, field: GraphQLField<unknown, unknown>): Requirements;
  /** Requirements declared on a type itself (object, interface, scalar, enum), including its extensions. */
  type(type: GraphQLNamedType): Requirements;
  /** A type's own rules and those declared on every interface it implements. */
  typeWithInterfaces(type: GraphQLNamedType): Requirements;
  /** Requirements of a field as declared: on the field itself and on the same field of its interfaces. */
  field(type: GraphQLObjectType | GraphQLInterfaceType, field: GraphQLField<unknown, unknown>): Requirements;
  /**
   * What a field's return type demands at the field: the authenticated and scope rules of the type and of
   * its interfaces, so a protected object is nulled as a whole (policies apply on its own fields, where
   * they see the object); for a scalar or enum, all its rules.
   */
  returnType(field: GraphQLField<unknown, unknown>): Requirements;
}

/**
 * Reads `schema`'s rules. Throws TypeError (at boot) when its authorization directives cannot be
 * resolved to frontdesk's spec: see link.ts.
 */
export function createRequirementsReader(schema: GraphQLSchema): RequirementsReader {
  const names = resolveAuthzDirectives(schema);
  const reader: RequirementsReader = {
    type(type) {
      if (!(isObjectType(type) || isInterfaceType(type) || isScalarType(type) || isEnumType(type))) return NONE;
      const nodes = [type.astNode, ...type.extensionASTNodes];
      return merge(...nodes.map((node) => fromDirectives(node?.directives, names)));
    },
    typeWithInterfaces(type) {
      const own = reader.type(type);
      if (!(isObjectType(type) || isInterfaceType(type))) return own;
      // GraphQL requires a type to list every interface it implements, transitively, so one level suffices.
      return merge(own, ...type.getInterfaces().map((iface) => reader.type(iface)));
    },
    field(type, field) {
      const own = fromDirectives(field.astNode?.directives, names);
      const inherited = type.getInterfaces().map((iface) => {
        const ifaceField = iface.getFields()[field.name];
        return ifaceField ? fromDirectives(ifaceField.astNode?.directives, names) : NONE;
      });
      return merge(own, ...inherited);
    },
    returnType(field) {
      const named = getNamedType(field.type);
      const declared = reader.typeWithInterfaces(named);
      // Scalars and enums have no fields of their own, so their policies are checked here, on the field.
      if (isScalarType(named) || isEnumType(named)) return declared;
      return { authenticated: declared.authenticated, scopes: declared.scopes, policies: [] };
    },
    effective(type, field) {
      return merge(reader.field(type, field), reader.typeWithInterfaces(type), reader.returnType(field));
    },
  };
  return reader;
}

/** Every policy name the requirements mention. */
export function policyNames(requirements: Requirements): string[] {
  return requirements.policies.flat(2);
}
