/**
 * The gateway reaches only what its config names. Apollo's libraries phone home on their own: Apollo
 * Gateway builds a metrics exporter to Apollo's usage endpoint and probes the AWS, GCP and Azure metadata
 * services when it is constructed (unless APOLLO_TELEMETRY_DISABLED), and Apollo Server installs usage and
 * schema reporting to Apollo Studio when APOLLO_KEY, APOLLO_GRAPH_REF or APOLLO_SCHEMA_REPORTING are in the
 * environment, as they are on a machine that runs rover. The gateway, started as `npm start` starts it
 * with those variables set, serves a query and drains on SIGTERM; every host it looked up and every
 * connection it opened, recorded in the process (test/support/egress-recorder.ts), is loopback: the
 * configured subgraphs and nothing else.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TSX_NODE_ARGS } from '../../../dev/node-args.ts';
import { ROOT, startStack, type Stack } from '../../support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

describe('what the gateway reaches', () => {
  it('is its subgraphs on loopback, with Apollo Studio credentials and schema reporting in the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'frontdesk-egress-'));
    const config = join(dir, 'gateway.yaml');
    const egress = join(dir, 'egress.jsonl');
    const subgraphs = Object.entries(stack.subgraphs).map(([name, subgraph]) => `  ${name}: { url: "${subgraph.url}" }`).join('\n');
    writeFileSync(
      config,
      `listen: { host: 127.0.0.1, port: 0 }\nsupergraph: ${join(ROOT, 'schema/supergraph.graphql')}\nsubgraphs:\n${subgraphs}\nidentity:\n  issuer: ${stack.identityIssuer}\n  keys: [{ file: ${stack.identityKeyFile} }]\nlogLevel: warn\n`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, FRONTDESK_EGRESS_LOG: egress, APOLLO_KEY: 'service:frontdesk-egress:not-a-real-key', APOLLO_GRAPH_REF: 'frontdesk-egress@current', APOLLO_SCHEMA_REPORTING: 'true' };
    delete env.APOLLO_TELEMETRY_DISABLED;
    const recorder = pathToFileURL(join(ROOT, 'test/support/egress-recorder.ts')).href;
    const child = spawn(process.execPath, [...TSX_NODE_ARGS, '--import', recorder, join(ROOT, 'gateway/main.ts'), '--config', config], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const ready = /"msg":"gateway listening".*?"url":"([^"]+)"/.exec(out);
        if (ready) resolve(ready[1] as string);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });

    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ topProducts(first: 1) { upc } }' }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { topProducts: [{ upc: expect.any(String) }] } });
    // Reporting plugins send on a timer and when the server stops: the drain is where a last report would go.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const reached = (existsSync(egress) ? readFileSync(egress, 'utf8') : '').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { lookup?: string; host?: string; port?: number; path?: string });
    // The recorder saw the gateway's own fetches to its subgraphs: it was recording.
    const subgraphPorts = Object.values(stack.subgraphs).map((subgraph) => Number(new URL(subgraph.url).port));
    expect(reached.some((entry) => entry.port !== undefined && subgraphPorts.includes(entry.port))).toBe(true);
    const elsewhere = reached.filter((entry) => (entry.lookup !== undefined && !LOOPBACK.has(entry.lookup)) || (entry.host !== undefined && !LOOPBACK.has(entry.host)));
    expect(elsewhere, err).toEqual([]);
  });
});
