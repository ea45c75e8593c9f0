/**
 * Which directives of a schema are frontdesk's authorization directives, read from its `@link`s (the link
 * spec, https://specs.apollo.dev/link/v1.0): an imported directive goes by its import name or its `as`,
 * and every directive of the spec is also reachable as `@<namespace>__<name>`, the namespace being the
 * link's `as` or the spec's name (`authz`). docs/authorization.md, "Directive names".
 *
 * A schema that uses a directive called like one of ours (`@authenticated`, `@federation__policy`,
 * `@x__requiresScopes`…) which does not resolve to frontdesk's spec is refused with a TypeError that
 * says what to change: enforcing nothing where the author believes a rule holds is the one outcome that
 * must not happen.
 */
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  Kind,
  type ConstDirectiveNode,
  type GraphQLSchema,
} from 'graphql';
import { AUTHZ_SPEC_URL } from './spec.ts';

export type AuthzDirective = 'authenticated' | 'requiresScopes' | 'policy';
const DIRECTIVES: readonly AuthzDirective[] = ['authenticated', 'requiresScopes', 'policy'];

/** The spec's identity (its URL without the version) and the versions this kit understands. */
export const AUTHZ_SPEC_IDENTITY = 'https://specs.frontdesk.dev/authz';
export const AUTHZ_SPEC_VERSIONS: readonly string[] = ['v0.1'];
const LINK_SPEC_IDENTITY = 'https://specs.apollo.dev/link';

export interface Link {
  url: string;
  /** Namespace for non-imported elements: `as`, or the spec's name from its URL. */
  namespace: string;
  /** Local name (without @) → the name it imports (without @). */
  imports: Map<string, string>;
}

/**
 * Local directive name (without @) → the frontdesk directive it stands for. Throws TypeError when the
 * schema links an unknown version of the spec, imports something the spec does not define, or uses an
 * authorization-looking directive that does not come from the spec.
 */
export function resolveAuthzDirectives(schema: GraphQLSchema): ReadonlyMap<string, AuthzDirective> {
  const schemaDirectives = [schema.astNode, ...schema.extensionASTNodes].flatMap((node) => node?.directives ?? []);
  const { names, links, problems } = readAuthzLinks(schemaDirectives);
  for (const { name, coordinate } of directiveUses(schema)) {
    if (names.has(name) || !looksLikeOurs(name)) continue;
    const intended = DIRECTIVES.find((d) => name === d || name.endsWith(`__${d}`)) as AuthzDirective;
    const fix = `import it from @link(url: "${AUTHZ_SPEC_URL}", import: ["@${intended}"]) (renaming it with {name: "@${intended}", as: "@…"} if you like) and pass it on with @composeDirective (docs/authorization.md)`;
    const source = links.find((link) => link.imports.has(name) || name.startsWith(`${link.namespace}__`) || name === link.namespace);
    if (source) {
      problems.push(`@${name} on ${coordinate} comes from @link(url: "${source.url}"), not frontdesk's spec, and would not be enforced: remove it from that link and ${fix}`);
    } else {
      problems.push(`@${name} on ${coordinate} is not imported from frontdesk's spec and would not be enforced: ${fix}; a directive of your own must not be called @${name}`);
    }
  }
  if (problems.length > 0) throw new TypeError(`authorization directives cannot be read:\n  - ${[...new Set(problems)].join('\n  - ')}`);
  return names;
}

/**
 * The names under which a schema's `@link`s make frontdesk's directives available, from the directives
 * of its schema definition and extensions. Shared by the kit (on a built schema) and the gateway (on the
 * supergraph's document), so both ends read renames the same way. `problems` lists what a schema must
 * fix: a version this code does not understand, an import the spec does not define.
 */
export function readAuthzLinks(schemaDirectives: readonly ConstDirectiveNode[]): { names: Map<string, AuthzDirective>; links: Link[]; problems: string[] } {
  const links = readLinks(schemaDirectives);
  const problems: string[] = [];
  const names = new Map<string, AuthzDirective>();
  for (const link of links) {
    if (!link.url.startsWith(`${AUTHZ_SPEC_IDENTITY}/`)) continue;
    const version = link.url.slice(AUTHZ_SPEC_IDENTITY.length + 1).replace(/\/$/, '');
    if (!AUTHZ_SPEC_VERSIONS.includes(version)) {
      problems.push(`the schema links ${link.url}; this version of frontdesk understands ${AUTHZ_SPEC_URL}: link that version`);
      continue;
    }
    for (const directive of DIRECTIVES) names.set(`${link.namespace}__${directive}`, directive);
    for (const [local, imported] of link.imports) {
      if (!(DIRECTIVES as readonly string[]).includes(imported)) {
        problems.push(`@link(url: "${link.url}") imports @${imported}, which the spec does not define (it has ${DIRECTIVES.map((d) => `@${d}`).join(', ')})`);
      } else names.set(local, imported as AuthzDirective);
    }
  }
  return { names, links, problems };
}

function looksLikeOurs(name: string): boolean {
  return DIRECTIVES.some((d) => name === d || name.endsWith(`__${d}`));
}

function readLinks(nodes: readonly ConstDirectiveNode[]): Link[] {
  // The link spec bootstraps itself: the directive whose url is the link spec's is the one to read.
  const linkName = nodes.find((d) => stringArgument(d, 'url')?.startsWith(`${LINK_SPEC_IDENTITY}/`))?.name.value ?? 'link';
  const links: Link[] = [];
  for (const directive of nodes) {
    if (directive.name.value !== linkName) continue;
    const url = stringArgument(directive, 'url');
    if (url === undefined) continue;
    const segments = url.replace(/\/$/, '').split('/');
    const specName = /^v\d+\.\d+$/.test(segments.at(-1) ?? '') ? segments.at(-2) : segments.at(-1);
    const namespace = (stringArgument(directive, 'as') ?? specName ?? '').replace(/^@/, '');
    const imports = new Map<string, string>();
    const list = directive.arguments?.find((a) => a.name.value === 'import')?.value;
    for (const item of list?.kind === Kind.LIST ? list.values : list ? [list] : []) {
      if (item.kind === Kind.STRING) {
        if (item.value.startsWith('@')) imports.set(item.value.slice(1), item.value.slice(1));
      } else if (item.kind === Kind.OBJECT) {
        const field = (key: string) => {
          const value = item.fields.find((f) => f.name.value === key)?.value;
          return value?.kind === Kind.STRING ? value.value : undefined;
        };
        const name = field('name');
        if (name?.startsWith('@')) imports.set((field('as') ?? name).replace(/^@/, ''), name.slice(1));
      }
    }
    links.push({ url, namespace, imports });
  }
  return links;
}

function stringArgument(directive: ConstDirectiveNode, name: string): string | undefined {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}

/** Every directive applied in the schema's types, fields, arguments and values, with where. */
function* directiveUses(schema: GraphQLSchema): Generator<{ name: string; coordinate: string }> {
  const uses = function* (nodes: ReadonlyArray<{ readonly directives?: readonly ConstDirectiveNode[] } | null | undefined>, coordinate: string) {
    for (const node of nodes) for (const directive of node?.directives ?? []) yield { name: directive.name.value, coordinate };
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type)) continue;
    yield* uses([type.astNode, ...type.extensionASTNodes], type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        yield* uses([field.astNode], `${type.name}.${field.name}`);
        for (const arg of field.args) yield* uses([arg.astNode], `${type.name}.${field.name}(${arg.name}:)`);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) yield* uses([field.astNode], `${type.name}.${field.name}`);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) yield* uses([value.astNode], `${type.name}.${value.name}`);
    }
  }
}
