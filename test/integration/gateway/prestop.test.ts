/**
 * Shutdown a load balancer respects: on SIGTERM the gateway answers 503 on /readyz for `shutdownDelay`
 * while it still accepts and serves requests, then drains and exits 0. Ctrl-C (SIGINT) drains at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TSX_NODE_ARGS } from '../../../dev/node-args.ts';
import { ROOT, startStack, type Stack } from '../../support/stack.ts';

let stack: Stack;
const children: ChildProcess[] = [];

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await stack?.close();
});

async function startMain(shutdownDelay: string): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-prestop-'));
  const config = join(dir, 'gateway.yaml');
  const subgraphs = Object.entries(stack.subgraphs).map(([name, subgraph]) => `  ${name}: { url: "${subgraph.url}" }`).join('\n');
  writeFileSync(
    config,
    `listen: { host: 127.0.0.1, port: 0 }\nsupergraph: ${join(ROOT, 'schema/supergraph.graphql')}\nsubgraphs:\n${subgraphs}\nidentity:\n  issuer: ${stack.identityIssuer}\n  keys: [{ file: ${stack.identityKeyFile} }]\nshutdownDelay: ${shutdownDelay}\nlogLevel: warn\n`,
  );
  const child = spawn(process.execPath, [...TSX_NODE_ARGS, join(ROOT, 'gateway/main.ts'), '--config', config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /"msg":"gateway listening".*?"url":"([^"]+)"/.exec(out);
      if (ready) resolve((ready[1] as string).replace('/graphql', ''));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, url, exited };
}

const graphql = (url: string) =>
  fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ topProducts(first: 1) { upc } }' }) });

describe('SIGTERM', () => {
  it('turns /readyz to 503 for shutdownDelay while requests are still served, then exits 0', async () => {
    const { child, url, exited } = await startMain('1500ms');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const signalled = performance.now();
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const during = await graphql(url); // a new connection, accepted and served
    expect(during.status).toBe(200);
    expect(((await during.json()) as { data: unknown }).data).toEqual({ topProducts: [{ upc: 'p001' }] });
    expect(await exited).toBe(0);
    expect(performance.now() - signalled).toBeGreaterThanOrEqual(1_400);
    await expect(fetch(`${url}/readyz`)).rejects.toThrow();
  });
});

describe('SIGINT', () => {
  it('drains at once, without the pre-stop delay', async () => {
    const { child, url, exited } = await startMain('30s');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const signalled = performance.now();
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(10_000);
  });
});
