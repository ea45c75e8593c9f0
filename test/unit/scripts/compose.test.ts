import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { readAuthorizationRules } from '../../../gateway/authz/index.ts';
import { composeFromRoverConfig } from '../../../scripts/compose.ts';
import { ROOT } from '../../support/stack.ts';
import { TSX_NODE_ARGS } from '../../../dev/node-args.ts';

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs the CLI (from the project root, where tsx resolves) on the copy of the project in `dir`. */
function compose(dir: string, ...args: string[]): { code: number; output: string } {
  const paths = ['--config', join(dir, 'rover.yaml'), '--output', join(dir, 'schema/supergraph.graphql')];
  try {
    const output = execFileSync(process.execPath, [...TSX_NODE_ARGS, join(ROOT, 'scripts/compose.ts'), ...paths, ...args], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, output };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { code: failed.status, output: failed.stdout + failed.stderr };
  }
}

function copyOfProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-compose-'));
  cpSync(join(ROOT, 'rover.yaml'), join(dir, 'rover.yaml'));
  cpSync(join(ROOT, 'schema'), join(dir, 'schema'), { recursive: true });
  return dir;
}

describe('npm run compose', () => {
  it('the committed supergraph is what rover.yaml composes to', () => {
    const result = composeFromRoverConfig(join(ROOT, 'rover.yaml'));
    expect(result.errors).toEqual([]);
    expect(result.supergraphSdl).toBe(readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8'));
  });

  it('--check exits 0 when fresh and 1 when a subgraph changed, and npm run compose fixes it', () => {
    const dir = copyOfProject();
    expect(compose(dir, '--check').code).toBe(0);
    const products = join(dir, 'schema/products.graphql');
    writeFileSync(products, readFileSync(products, 'utf8').replace('inStock: Boolean!', 'inStock: Boolean!\n  weight: Int'));
    const stale = compose(dir, '--check');
    expect(stale).toEqual({ code: 1, output: expect.stringContaining('supergraph.graphql is stale: run `npm run compose`') });
    expect(compose(dir).code).toBe(0);
    expect(compose(dir, '--check').code).toBe(0);
    expect(readFileSync(join(dir, 'schema/supergraph.graphql'), 'utf8')).toContain('weight: Int');
  }, 60_000);

  it('prints composition errors readably, naming the subgraphs', () => {
    const dir = copyOfProject();
    const reviews = join(dir, 'schema/reviews.graphql');
    // Conflicting field types across subgraphs: a composition error, not a parse error.
    writeFileSync(reviews, readFileSync(reviews, 'utf8').replace('upc: String!\n  "Reviews of this product', 'upc: Int!\n  "Reviews of this product'));
    const result = compose(dir);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/Composition failed with \d+ error/);
    expect(result.output).toMatch(/"Product\.upc".*"products".*"reviews"|"reviews".*"products"/s);
  }, 60_000);
});

describe('npm run compose with subgraphs written for Apollo Router', () => {
  /** A one-subgraph rover config around `sdl`. */
  function project(sdl: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'frontdesk-compose-apollo-'));
    writeFileSync(join(dir, 'rover.yaml'), 'subgraphs:\n  catalog:\n    routing_url: http://127.0.0.1:4009/graphql\n    schema:\n      file: ./catalog.graphql\n');
    writeFileSync(join(dir, 'catalog.graphql'), sdl);
    mkdirSync(join(dir, 'schema'));
    return dir;
  }
  const APOLLO_STYLE = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", { name: "@requiresScopes", as: "@scopes" }])
type Query { me: String @federation__authenticated  secret: Secret  open: String }
type Secret @scopes(scopes: [["secret:read", "secret:list"], ["admin"]]) { value: String }
type Product @key(fields: "upc") { upc: String! cost: Int @scopes(scopes: [["inventory:read"]]) }
`;

  it('rewrites Apollo\'s @authenticated and @requiresScopes (renames and namespaced form kept) to frontdesk\'s spec, which the gateway loads and enforces', async () => {
    const dir = project(APOLLO_STYLE);
    const result = composeFromRoverConfig(join(dir, 'rover.yaml'));
    expect(result.errors).toEqual([]);
    expect(result.notes).toEqual(['[catalog] Apollo\'s @authenticated, @requiresScopes as @scopes rewritten to https://specs.frontdesk.dev/authz/v0.1']);
    const sdl = result.supergraphSdl as string;
    expect(sdl).not.toContain('specs.apollo.dev/authenticated');
    expect(sdl).not.toContain('specs.apollo.dev/requiresScopes');
    const rules = readAuthorizationRules(sdl);
    expect(Object.fromEntries(rules.fields)).toEqual({
      'Query.me': { authenticated: true, scopes: [] },
      'Product.cost': { authenticated: false, scopes: [[['inventory:read']]] },
    });
    expect(Object.fromEntries(rules.types)).toEqual({ Secret: { authenticated: false, scopes: [[['secret:read', 'secret:list'], ['admin']]] } });
    // @apollo/gateway accepts the rewritten supergraph ...
    const gateway = new ApolloGateway({ supergraphSdl: sdl, logger: silentLogger });
    await expect(gateway.load()).resolves.toBeDefined();
    await gateway.stop();
    // ... and refuses the one composed without the rewrite: this is what the rewrite is for.
    const raw = composeServices([{ name: 'catalog', url: 'http://127.0.0.1:4009/graphql', typeDefs: parse(APOLLO_STYLE) }]);
    expect(raw.errors).toBeUndefined();
    const refusing = new ApolloGateway({ supergraphSdl: raw.supergraphSdl as string, logger: silentLogger });
    await expect(refusing.load()).rejects.toThrow(/SECURITY/);
  });

  it('refuses Apollo\'s @policy with a message that says exactly what to change', () => {
    const dir = project(APOLLO_STYLE.replace('"@key",', '"@key", "@policy",').replace('open: String', 'open: String @policy(policies: [["p"]])'));
    const result = compose(dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      '[catalog] imports Apollo\'s @policy from https://specs.apollo.dev/federation/v2.5: frontdesk does not evaluate policies at the gateway. ' +
        'Import @policy from https://specs.frontdesk.dev/authz/v0.1 instead (with @composeDirective(name: "@policy")) and register each policy in the subgraph',
    );
  }, 60_000);

  it('leaves schemas that use frontdesk\'s spec untouched', () => {
    const result = composeFromRoverConfig(join(ROOT, 'rover.yaml'));
    expect(result.notes).toEqual([]);
  });
});
