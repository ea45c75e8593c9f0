import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeFromRoverConfig } from '../../../scripts/compose.ts';
import { ROOT } from '../../support/stack.ts';
import { TSX_NODE_ARGS } from '../../../dev/node-args.ts';

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
