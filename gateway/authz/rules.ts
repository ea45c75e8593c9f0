/**
 * Reads the `@authenticated` and `@requiresScopes` rules of a composed supergraph, for the gateway's own
 * check (docs/authorization.md "Enforced at the gateway too"). Directive names are resolved through the
 * supergraph's `@link` of frontdesk's authz spec, so an import renamed with `as` (or the namespaced form
 * `@authz__authenticated`) is read, never silently ignored. `@policy` is not read: policies need the data,
 * and only the subgraphs have it.
 */
import { readAuthzLinks } from '@frontdesk/kit/authz-link';
import { Kind, parse, type ConstDirectiveNode, type ConstValueNode, type DefinitionNode, type DocumentNode } from 'graphql';


/** What one field or type demands: every entry of `scopes` must hold (AND); each is an OR of AND-sets. */
export interface AccessRule {
  readonly authenticated: boolean;
  readonly scopes: readonly (readonly (readonly string[])[])[];
}

export interface AuthorizationRules {
  /** Rules declared on types (object, interface, scalar, enum), by type name. */
  readonly types: ReadonlyMap<string, AccessRule>;
  /** Rules declared on fields, by "Type.field". */
  readonly fields: ReadonlyMap<string, AccessRule>;
  /** The directive names the supergraph uses for the spec (after renames), for the log. */
  readonly names: { readonly authenticated: readonly string[]; readonly requiresScopes: readonly string[] };
}

export class AuthorizationRulesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthorizationRulesError';
  }
}

/**
 * The rules in a supergraph SDL. Throws AuthorizationRulesError when the supergraph links a version of the
 * spec this gateway does not know or a directive's arguments are malformed: a rule the gateway cannot read
 * must stop the supergraph from being used, not be skipped.
 */
export function readAuthorizationRules(supergraphSdl: string | DocumentNode): AuthorizationRules {
  const document = typeof supergraphSdl === 'string' ? parse(supergraphSdl, { noLocation: true }) : supergraphSdl;
  const names = directiveNames(document);
  const types = new Map<string, AccessRule>();
  const fields = new Map<string, AccessRule>();
  if (names.authenticated.length === 0 && names.requiresScopes.length === 0) return { types, fields, names };
  const authenticated = new Set(names.authenticated);
  const requiresScopes = new Set(names.requiresScopes);
  const read = (directives: readonly ConstDirectiveNode[] | undefined): AccessRule | undefined => {
    let rule: { authenticated: boolean; scopes: string[][][] } | undefined;
    for (const directive of directives ?? []) {
      const name = directive.name.value;
      if (authenticated.has(name)) (rule ??= { authenticated: false, scopes: [] }).authenticated = true;
      else if (requiresScopes.has(name)) (rule ??= { authenticated: false, scopes: [] }).scopes.push(listOfLists(directive, 'scopes'));
    }
    return rule;
  };
  const add = (map: Map<string, AccessRule>, key: string, rule: AccessRule | undefined) => {
    if (!rule) return;
    const current = map.get(key);
    map.set(key, current ? { authenticated: current.authenticated || rule.authenticated, scopes: [...current.scopes, ...rule.scopes] } : rule);
  };
  for (const definition of document.definitions) {
    if (!hasTypeName(definition)) continue;
    const typeName = definition.name.value;
    add(types, typeName, read(definition.directives));
    if ('fields' in definition && (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.OBJECT_TYPE_EXTENSION || definition.kind === Kind.INTERFACE_TYPE_DEFINITION || definition.kind === Kind.INTERFACE_TYPE_EXTENSION)) {
      for (const field of definition.fields ?? []) add(fields, `${typeName}.${field.name.value}`, read(field.directives));
    }
  }
  return { types, fields, names };
}

type NamedTypeNode = Extract<DefinitionNode, { kind: (typeof NAMED_KINDS)[number] }>;
const NAMED_KINDS = [
  Kind.OBJECT_TYPE_DEFINITION,
  Kind.OBJECT_TYPE_EXTENSION,
  Kind.INTERFACE_TYPE_DEFINITION,
  Kind.INTERFACE_TYPE_EXTENSION,
  Kind.SCALAR_TYPE_DEFINITION,
  Kind.SCALAR_TYPE_EXTENSION,
  Kind.ENUM_TYPE_DEFINITION,
  Kind.ENUM_TYPE_EXTENSION,
] as const;
function hasTypeName(definition: DefinitionNode): definition is NamedTypeNode {
  return (NAMED_KINDS as readonly string[]).includes(definition.kind);
}

/**
 * The names under which the supergraph uses the spec's directives, read from its `@link`s the way the kit
 * reads a subgraph's (`@frontdesk/kit/authz-link`): imports by their name or `as`, and
 * `@<namespace>__<name>` for every directive of the spec.
 */
export function directiveNames(document: DocumentNode): { authenticated: string[]; requiresScopes: string[] } {
  const schemaDirectives = document.definitions.flatMap((definition) =>
    definition.kind === Kind.SCHEMA_DEFINITION || definition.kind === Kind.SCHEMA_EXTENSION ? (definition.directives ?? []) : [],
  );
  const { names, problems } = readAuthzLinks(schemaDirectives);
  if (problems.length > 0) throw new AuthorizationRulesError(`the supergraph's authorization directives cannot be read: ${problems.join('; ')} — upgrade the gateway or import a version it knows`);
  const out = { authenticated: [] as string[], requiresScopes: [] as string[] };
  for (const [local, directive] of names) {
    if (directive === 'authenticated') out.authenticated.push(local);
    else if (directive === 'requiresScopes') out.requiresScopes.push(local);
  }
  return out;
}

function listOfLists(directive: ConstDirectiveNode, argument: string): string[][] {
  const value = directive.arguments?.find((arg) => arg.name.value === argument)?.value;
  const malformed = () => new AuthorizationRulesError(`@${directive.name.value}(${argument}:) must be a list of lists of strings`);
  if (value === undefined) throw malformed();
  // GraphQL input coercion lets a single value stand for a one-item list, at both levels.
  const outer: readonly ConstValueNode[] = value.kind === Kind.LIST ? value.values : [value];
  return outer.map((inner) =>
    (inner.kind === Kind.LIST ? inner.values : [inner]).map((item) => {
      if (item.kind !== Kind.STRING) throw malformed();
      return item.value;
    }),
  );
}
