/**
 * Subgraph schemas written for Apollo Router import Apollo's `@authenticated` and `@requiresScopes` from the
 * federation spec. `@apollo/gateway` refuses a supergraph that links them (`for: SECURITY`), so before
 * composing, `npm run compose` rewrites them to frontdesk's authz spec, which has the same semantics (outer
 * list OR, inner list AND) and is enforced by the gateway and the kit (docs/authorization.md "Schemas
 * written for Apollo Router"). Renamed imports keep their local names.
 *
 * Apollo's `@policy` is refused: Apollo Router evaluates it (with a coprocessor), while frontdesk's
 * policies are functions a subgraph registers with the kit. Rewriting it would leave a field its author
 * believes protected with nobody to protect it.
 */
import { Kind, type ConstDirectiveNode, type ConstValueNode, type DefinitionNode, type DocumentNode, type SchemaExtensionNode, visit } from 'graphql';

const FEDERATION = 'https://specs.apollo.dev/federation/';
const AUTHZ_URL = 'https://specs.frontdesk.dev/authz/v0.1';
const LOCATIONS = 'FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM';
const REWRITTEN = ['authenticated', 'requiresScopes'] as const;

export interface ApolloAuthzRewrite {
  document: DocumentNode;
  /** What was rewritten, for the log ("@authenticated", "@requiresScopes as @scopes"). */
  rewritten: string[];
  /** Why the schema cannot be composed as is, each saying what to change. */
  errors: string[];
}

export function rewriteApolloAuthz(subgraph: string, document: DocumentNode): ApolloAuthzRewrite {
  const schemaDirectives = document.definitions.flatMap((d) => (d.kind === Kind.SCHEMA_DEFINITION || d.kind === Kind.SCHEMA_EXTENSION ? (d.directives ?? []) : []));
  const federationLink = schemaDirectives.find((d) => d.name.value === 'link' && stringArg(d, 'url')?.startsWith(FEDERATION));
  if (!federationLink) return { document, rewritten: [], errors: [] };
  const namespace = stringArg(federationLink, 'as') ?? 'federation';
  const imports = listArg(federationLink, 'import');

  // Local name of each of Apollo's authorization directives this subgraph uses: imported (maybe renamed) or namespaced.
  const local = new Map<string, string>();
  const kept: ConstValueNode[] = [];
  let composeDirective = 'composeDirective';
  let importsComposeDirective = false;
  for (const item of imports) {
    const { name, as } = importName(item);
    const bare = name?.replace(/^@/, '');
    if (bare === 'composeDirective') {
      importsComposeDirective = true;
      composeDirective = (as ?? name ?? '').replace(/^@/, '');
    }
    if (bare === 'authenticated' || bare === 'requiresScopes' || bare === 'policy') local.set(bare, (as ?? name ?? '').replace(/^@/, ''));
    else kept.push(item);
  }
  const used = new Set<string>();
  visit(document, { Directive: (node) => void used.add(node.name.value) });
  // The link spec makes every directive of a linked spec reachable as @<namespace>__<name> as well.
  const namespaced = new Set<string>();
  for (const name of [...REWRITTEN, 'policy'] as const) {
    if (!used.has(`${namespace}__${name}`)) continue;
    namespaced.add(name);
    if (!local.has(name)) {
      if (used.has(name)) return { document, rewritten: [], errors: [`[${subgraph}] uses @${namespace}__${name} and a directive named @${name}; import Apollo's under another name or rename the other`] };
      local.set(name, name);
    }
  }
  if (local.size === 0) return { document, rewritten: [], errors: [] };
  if (local.has('policy')) {
    return {
      document,
      rewritten: [],
      errors: [
        `[${subgraph}] imports Apollo's @policy from ${stringArg(federationLink, 'url')}: frontdesk does not evaluate policies at the gateway. ` +
          `Import @policy from ${AUTHZ_URL} instead (with @composeDirective(name: "@policy")) and register each policy in the subgraph ` +
          `(the kit's applyAuthorization({ policies }), or your own enforcement) — see docs/authorization.md`,
      ],
    };
  }

  // What each rewritten directive is called in this subgraph; namespaced applications take that name.
  const targets = REWRITTEN.flatMap((spec) => (local.has(spec) ? [{ spec, local: local.get(spec) as string }] : []));
  const renames = new Map<string, string>(targets.flatMap((t) => (namespaced.has(t.spec) ? [[`${namespace}__${t.spec}`, t.local] as const] : [])));
  const localNames = new Set(targets.map((t) => t.local));

  if (!importsComposeDirective) kept.push(str('@composeDirective'));
  const authzImports = targets.map((t): ConstValueNode =>
    t.local === t.spec ? str(`@${t.spec}`) : { kind: Kind.OBJECT, fields: [field('name', str(`@${t.spec}`)), field('as', str(`@${t.local}`))] },
  );
  const extension: SchemaExtensionNode = {
    kind: Kind.SCHEMA_EXTENSION,
    directives: [
      { kind: Kind.DIRECTIVE, name: name('link'), arguments: [arg('url', str(AUTHZ_URL)), arg('import', { kind: Kind.LIST, values: authzImports })] },
      ...targets.map((t): ConstDirectiveNode => ({ kind: Kind.DIRECTIVE, name: name(composeDirective), arguments: [arg('name', str(`@${t.local}`))] })),
    ],
  };
  const definitions = targets.map(
    (t): DefinitionNode => ({
      kind: Kind.DIRECTIVE_DEFINITION,
      name: name(t.local),
      repeatable: false,
      arguments: t.spec === 'requiresScopes' ? [{ kind: Kind.INPUT_VALUE_DEFINITION, name: name('scopes'), type: listOfLists() }] : [],
      locations: LOCATIONS.split(' | ').map((l) => name(l)),
    }),
  );

  const out = visit(document, {
    // Apollo's own definitions (typed with federation__Scope), if the file carries them, give way to frontdesk's.
    DirectiveDefinition: (node) => (localNames.has(node.name.value) || renames.has(node.name.value) ? null : undefined),
    Directive: (node) => {
      if (node === federationLink) return { ...node, arguments: node.arguments?.map((a) => (a.name.value === 'import' ? arg('import', { kind: Kind.LIST, values: kept }) : a)) };
      const renamed = renames.get(node.name.value);
      return renamed ? { ...node, name: name(renamed) } : undefined;
    },
  }) as DocumentNode;
  const rewritten = targets.map((t) => (t.local === t.spec ? `@${t.spec}` : `@${t.spec} as @${t.local}`));
  return { document: { ...out, definitions: [...out.definitions, extension, ...definitions] }, rewritten, errors: [] };
}

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const str = (value: string): ConstValueNode => ({ kind: Kind.STRING, value });
const arg = (n: string, value: ConstValueNode) => ({ kind: Kind.ARGUMENT, name: name(n), value }) as const;
const field = (n: string, value: ConstValueNode) => ({ kind: Kind.OBJECT_FIELD, name: name(n), value }) as const;
const listOfLists = () =>
  ({
    kind: Kind.NON_NULL_TYPE,
    type: { kind: Kind.LIST_TYPE, type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.LIST_TYPE, type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: name('String') } } } } },
  }) as const;

function stringArg(directive: ConstDirectiveNode, argument: string): string | undefined {
  const value = directive.arguments?.find((a) => a.name.value === argument)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}
function listArg(directive: ConstDirectiveNode, argument: string): readonly ConstValueNode[] {
  const value = directive.arguments?.find((a) => a.name.value === argument)?.value;
  return value === undefined ? [] : value.kind === Kind.LIST ? value.values : [value];
}
function importName(item: ConstValueNode): { name?: string; as?: string } {
  if (item.kind === Kind.STRING) return { name: item.value };
  if (item.kind !== Kind.OBJECT) return {};
  const get = (key: string) => {
    const value = item.fields.find((f) => f.name.value === key)?.value;
    return value?.kind === Kind.STRING ? value.value : undefined;
  };
  return { ...(get('name') ? { name: get('name') } : {}), ...(get('as') ? { as: get('as') } : {}) };
}
