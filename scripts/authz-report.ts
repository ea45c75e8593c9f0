/**
 * `npm run authz [-- schema/supergraph.graphql]`: the whole authorization surface of the composed
 * supergraph in one table — every field with the rules that apply to it (its own and its interfaces'
 * same field's, its type's and that type's interfaces', its return type's), computed by the kit's own
 * reader so the report cannot drift from what is enforced — then the fields anyone can read without
 * authenticating.
 */
import { readFileSync } from 'node:fs';
import { buildSchema, isInterfaceType, isObjectType, Kind, type ConstDirectiveNode, type GraphQLSchema } from 'graphql';
import { createRequirementsReader, type Requirements } from '@frontdesk/kit';

export interface FieldRow {
  coordinate: string;
  subgraphs: string[];
  rules: string;
  public: boolean;
}

const INTERNAL = /^(__|join__|link__|_Service$|_Entity$|_Any$)/;

export function authorizationReport(supergraphSdl: string): FieldRow[] {
  const schema: GraphQLSchema = buildSchema(supergraphSdl, { assumeValidSDL: true });
  const rows: FieldRow[] = [];
  // Directive names as the supergraph's @link of frontdesk's spec gives them; throws on any it cannot resolve.
  const reader = createRequirementsReader(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (INTERNAL.test(type.name) || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      const parts = [reader.effective(type, field)]; // exactly what the kit enforces
      const rules = describe(parts);
      // A field without @join__field is resolvable by every subgraph that declares its type.
      const own = graphsOf(field.astNode?.directives, 'join__field');
      const graphs = own.length > 0 ? own : graphsOf(type.astNode?.directives, 'join__type');
      rows.push({ coordinate: `${type.name}.${field.name}`, subgraphs: graphs, rules: rules || '—', public: rules === '' });
    }
  }
  return rows.sort((a, b) => a.coordinate.localeCompare(b.coordinate));
}

function graphsOf(directives: readonly ConstDirectiveNode[] | undefined, name: string): string[] {
  const graphs = (directives ?? [])
    .filter((d) => d.name.value === name)
    .map((d) => d.arguments?.find((a) => a.name.value === 'graph')?.value)
    .map((v) => (v?.kind === Kind.ENUM ? v.value.toLowerCase() : undefined))
    .filter((v): v is string => v !== undefined);
  return [...new Set(graphs)];
}

function describe(parts: Requirements[]): string {
  const out: string[] = [];
  if (parts.some((p) => p.authenticated)) out.push('@authenticated');
  for (const scopes of parts.flatMap((p) => p.scopes)) out.push(`scopes ${alternatives(scopes)}`);
  for (const policies of parts.flatMap((p) => p.policies)) out.push(`policy ${alternatives(policies)}`);
  return [...new Set(out)].join(' AND ');
}

function alternatives(sets: string[][]): string {
  const text = sets.map((set) => (set.length > 1 && sets.length > 1 ? `(${set.join(' AND ')})` : set.join(' AND ')));
  return text.join(' OR ');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2] ?? 'schema/supergraph.graphql';
  const rows = authorizationReport(readFileSync(path, 'utf8'));
  const width = Math.max(...rows.map((r) => r.coordinate.length), 5);
  const sgWidth = Math.max(...rows.map((r) => r.subgraphs.join(',').length), 9);
  const line = (a: string, b: string, c: string) => `${a.padEnd(width)}  ${b.padEnd(sgWidth)}  ${c}\n`;
  process.stdout.write(`Authorization surface of ${path}\n\n`);
  process.stdout.write(line('field', 'subgraphs', 'requirements'));
  process.stdout.write(line('-'.repeat(width), '-'.repeat(sgWidth), '-'.repeat(12)));
  for (const row of rows) process.stdout.write(line(row.coordinate, row.subgraphs.join(','), row.rules));
  const open = rows.filter((r) => r.public);
  process.stdout.write(`\nReachable without authentication (${open.length} of ${rows.length} fields):\n`);
  for (const row of open) process.stdout.write(`  ${row.coordinate}\n`);
}
