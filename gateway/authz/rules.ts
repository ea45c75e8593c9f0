/**
 * Reads the `@authenticated` and `@requiresScopes` rules of a composed supergraph, for the gateway's own
 * check (docs/authorization.md "Enforced at the gateway too"). Directive names are resolved through the
 * supergraph's `@link` of frontdesk's authz spec, so an import renamed with `as` (or the namespaced form
 * `@authz__authenticated`) is read, never silently ignored. `@policy` is not read: policies need the data,
 * and only the subgraphs have it.
 */
import { Kind, parse, type ConstDirectiveNode, type ConstValueNode, type DefinitionNode, type DocumentNode } from 'graphql';

/** The spec's identity (its URL without the version) and the versions this gateway understands. */
export const AUTHZ_SPEC_IDENTITY = 'https://specs.frontdesk.dev/authz';
export const AUTHZ_SPEC_VERSIONS = ['v0.1'] as const;
const LINK_SPEC_IDENTITY = 'https://specs.apollo.dev/link';

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
 * The names under which the supergraph uses the spec's directives. Per the link spec
 * (https://specs.apollo.dev/link/v1.0): an imported directive goes by its import name (or its `as`), and
 * every directive of the spec is also reachable as `@<namespace>__<name>`, the namespace being the link's
 * `as` or the spec's name (`authz`).
 */
export function directiveNames(document: DocumentNode): { authenticated: string[]; requiresScopes: string[] } {
  const schemaDirectives = document.definitions.flatMap((definition) =>
    definition.kind === Kind.SCHEMA_DEFINITION || definition.kind === Kind.SCHEMA_EXTENSION ? (definition.directives ?? []) : [],
  );
  // The link spec bootstraps itself: the directive whose url is the link spec's is the one to read.
  const linkName = schemaDirectives.find((d) => stringArgument(d, 'url')?.startsWith(`${LINK_SPEC_IDENTITY}/`))?.name.value ?? 'link';
  const out = { authenticated: [] as string[], requiresScopes: [] as string[] };
  for (const link of schemaDirectives) {
    if (link.name.value !== linkName) continue;
    const url = stringArgument(link, 'url');
    if (url === undefined || !url.startsWith(`${AUTHZ_SPEC_IDENTITY}/`)) continue;
    const version = url.slice(AUTHZ_SPEC_IDENTITY.length + 1);
    if (!(AUTHZ_SPEC_VERSIONS as readonly string[]).includes(version)) {
      throw new AuthorizationRulesError(`the supergraph links ${url}; this gateway understands ${AUTHZ_SPEC_VERSIONS.map((v) => `${AUTHZ_SPEC_IDENTITY}/${v}`).join(', ')} — upgrade the gateway or import a version it knows`);
    }
    const namespace = stringArgument(link, 'as') ?? 'authz';
    out.authenticated.push(`${namespace}__authenticated`);
    out.requiresScopes.push(`${namespace}__requiresScopes`);
    const imports = link.arguments?.find((a) => a.name.value === 'import')?.value;
    for (const item of imports?.kind === Kind.LIST ? imports.values : imports ? [imports] : []) {
      let name: string | undefined;
      let alias: string | undefined;
      if (item.kind === Kind.STRING) name = item.value;
      else if (item.kind === Kind.OBJECT) {
        const field = (key: string) => {
          const value = item.fields.find((f) => f.name.value === key)?.value;
          return value?.kind === Kind.STRING ? value.value : undefined;
        };
        name = field('name');
        alias = field('as');
      }
      if (name === undefined) throw new AuthorizationRulesError(`@${linkName}(url: "${url}") has an import that is neither a string nor {name, as}`);
      const local = (alias ?? name).replace(/^@/, '');
      if (name === '@authenticated') out.authenticated.push(local);
      else if (name === '@requiresScopes') out.requiresScopes.push(local);
    }
  }
  return out;
}

function stringArgument(directive: ConstDirectiveNode, name: string): string | undefined {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
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
