/**
 * `npm run compose [-- --check] [--config rover.yaml] [--output schema/supergraph.graphql]`
 *
 * Composes the supergraph from rover's supergraph config with @apollo/composition — the library rover
 * itself runs — so `rover supergraph compose --config rover.yaml` gives the same result for anyone who
 * has rover. `--check` writes nothing and exits 1 when the committed supergraph is stale.
 *
 * Subgraphs that import Apollo's own @authenticated/@requiresScopes (written for Apollo Router) are
 * rewritten to frontdesk's authz spec first (scripts/apollo-authz.ts); Apollo's @policy is refused with
 * what to change. rover itself would compose them into a supergraph @apollo/gateway refuses.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { rewriteApolloAuthz } from './apollo-authz.ts';

export interface ComposeResult {
  supergraphSdl?: string;
  /** Readable composition errors, each naming the subgraph(s) involved. */
  errors: string[];
  /** What was rewritten before composing (Apollo's authorization directives, docs/authorization.md). */
  notes?: string[];
}

interface RoverConfig {
  federation_version?: string;
  subgraphs?: Record<string, { routing_url?: string; schema?: { file?: string } }>;
}

/** Composes the subgraphs listed in a rover supergraph config file. */
export function composeFromRoverConfig(configPath: string): ComposeResult {
  const config = parseYaml(readFileSync(configPath, 'utf8')) as RoverConfig;
  const errors: string[] = [];
  const notes: string[] = [];
  const services = [];
  for (const [name, subgraph] of Object.entries(config.subgraphs ?? {})) {
    const file = subgraph.schema?.file;
    if (!file) {
      errors.push(`[${name}] schema.file is missing (only file-based subgraph schemas are supported here)`);
      continue;
    }
    const path = resolve(dirname(configPath), file);
    try {
      const rewrite = rewriteApolloAuthz(name, parse(readFileSync(path, 'utf8')));
      errors.push(...rewrite.errors);
      if (rewrite.rewritten.length > 0) notes.push(`[${name}] Apollo's ${rewrite.rewritten.join(', ')} rewritten to https://specs.frontdesk.dev/authz/v0.1`);
      services.push({ name, url: subgraph.routing_url, typeDefs: rewrite.document });
    } catch (error) {
      errors.push(`[${name}] ${relative(process.cwd(), path)}: ${(error as Error).message}`);
    }
  }
  if (services.length === 0 && errors.length === 0) errors.push('rover config lists no subgraphs');
  if (errors.length > 0) return { errors };
  const result = composeServices(services);
  if (result.errors) {
    return { errors: result.errors.map((error) => `${String(error.extensions?.code ?? 'COMPOSITION_ERROR')}: ${error.message}`) };
  }
  return { supergraphSdl: `${result.supergraphSdl.trimEnd()}\n`, errors: [], notes };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      config: { type: 'string', default: 'rover.yaml' },
      output: { type: 'string', default: 'schema/supergraph.graphql' },
    },
  });
  const result = composeFromRoverConfig(values.config);
  if (!result.supergraphSdl) {
    process.stderr.write(`Composition failed with ${result.errors.length} error(s):\n`);
    for (const error of result.errors) process.stderr.write(`  - ${error}\n`);
    return 1;
  }
  for (const note of result.notes ?? []) process.stdout.write(`${note}\n`);
  let committed: string | undefined;
  try {
    committed = readFileSync(values.output, 'utf8');
  } catch {
    committed = undefined;
  }
  if (values.check) {
    if (committed === result.supergraphSdl) {
      process.stdout.write(`${values.output} is up to date\n`);
      return 0;
    }
    process.stderr.write(`${values.output} is stale: run \`npm run compose\` and commit the result\n`);
    return 1;
  }
  writeFileSync(values.output, result.supergraphSdl);
  process.stdout.write(`${values.output} ${committed === result.supergraphSdl ? 'unchanged' : 'written'}\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main();
