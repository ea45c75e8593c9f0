/**
 * The gateway as a service: supergraph reload, graceful drain, production mode, and boot failures that
 * say what to change.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../gateway/config/load.ts';
import { KeyLoadError } from '../../../gateway/identity/keys.ts';
import { createLogger } from '../../../gateway/log.ts';
import { StartupError } from '../../../gateway/errors.ts';
import { startGateway } from '../../../gateway/server.ts';
import { composeFromRoverConfig } from '../../../scripts/compose.ts';
import { ROOT, SUPERGRAPH, startStack, type Stack } from '../../support/stack.ts';
import { TSX_NODE_ARGS } from '../../../dev/node-args.ts';

const run = promisify(execFile);
const stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
});

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('supergraph reload', () => {
  it('serves a new supergraph when the file changes, and keeps the old one when the new one is bad', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'frontdesk-reload-'));
    const file = join(dir, 'supergraph.graphql');
    cpSync(SUPERGRAPH, file);
    const stack = await startStack({ config: { supergraph: file } });
    stacks.push(stack);
    expect((await stack.query({ query: '{ product(upc: "p001") { name } }' })).body).toEqual({ data: { product: { name: 'Tiny Kettle' } } });

    writeFileSync(file, 'this is not { a supergraph');
    await until(() => stack.logs.some((l) => l.msg === 'new supergraph refused; keeping the current supergraph'));
    expect((await stack.query({ query: '{ product(upc: "p001") { name } }' })).body).toEqual({ data: { product: { name: 'Tiny Kettle' } } });

    // A valid new supergraph without Product.inStock.
    cpSync(join(ROOT, 'schema'), join(dir, 'schema'), { recursive: true });
    cpSync(join(ROOT, 'rover.yaml'), join(dir, 'rover.yaml'));
    const products = join(dir, 'schema/products.graphql');
    writeFileSync(products, readFileSync(products, 'utf8').replace('  inStock: Boolean!\n', ''));
    const composed = composeFromRoverConfig(join(dir, 'rover.yaml'));
    expect(composed.errors).toEqual([]);
    writeFileSync(file, composed.supergraphSdl as string);
    await until(() => stack.logs.some((l) => l.msg === 'supergraph reloaded'));
    const result = await stack.query({ query: '{ product(upc: "p001") { inStock } }' });
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests, then stops accepting', async () => {
    const stack = await startStack();
    const products = stack.subgraphs.products.server;
    // A slow subgraph: every listener (the kit's handler, the test recorder) runs 500 ms late.
    const handlers = products.listeners('request') as Array<(...args: unknown[]) => void>;
    products.removeAllListeners('request');
    let arrived = false;
    products.on('request', (...args: unknown[]) => {
      arrived = true;
      setTimeout(() => handlers.forEach((handler) => handler(...args)), 500);
    });

    const inflight = stack.query({ query: '{ topProducts(first: 1) { name } }' });
    await until(() => arrived);
    const closing = stack.gateway.close();
    const result = await inflight;
    expect(result.status).toBe(200);
    expect(result.body.data).toEqual({ topProducts: [{ name: 'Tiny Kettle' }] });
    await closing;
    await expect(fetch(stack.url, { method: 'POST' })).rejects.toThrow();
    await Promise.all(Object.values(stack.subgraphs).map((s) => s.close()));
  });
});

describe('production mode', () => {
  it('turns off introspection, stack traces and schema suggestions', async () => {
    const stack = await startStack({ env: { NODE_ENV: 'production' } });
    stacks.push(stack);
    const introspection = await stack.query({ query: '{ __schema { types { name } } }' });
    expect(introspection.status).toBe(400);
    expect(introspection.body.errors?.[0]?.message).toMatch(/introspection is not allowed/i);
    const typo = await stack.query({ query: '{ topProduct { name } }' });
    expect(typo.status).toBe(400);
    expect(JSON.stringify(typo.body)).not.toMatch(/did you mean/i);
    // A denial from a subgraph's kit (@policy is decided there) and one from the gateway's own check.
    const denied = await stack.query({ query: '{ user(id: "u2") { email } }' });
    expect(denied.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', serviceName: 'accounts' });
    expect(JSON.stringify(denied.body)).not.toContain('stacktrace');
    const deniedAtGateway = await stack.query({ query: '{ users { id } }' });
    expect(deniedAtGateway.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(JSON.stringify(deniedAtGateway.body)).not.toContain('stacktrace');
    // A subgraph's unexpected error: masked, with the request id to find it in the log.
    stack.stores.products.topProducts = async () => {
      throw new Error('connection to db failed: password=hunter2');
    };
    const broken = await stack.query({ query: '{ topProducts { upc } }' }, { headers: { 'x-request-id': 'req-123' } });
    expect(broken.body.errors).toEqual([{ message: 'Unexpected error', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-123' } }]);
    expect(JSON.stringify(broken.body)).not.toContain('hunter2');
    expect(stack.logs.find((l) => l.msg === 'operation error' && l.requestId === 'req-123')).toMatchObject({ subgraph: 'products' });
  });
});

describe('boot failures say what to change', () => {
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-boot-'));
  const silent = createLogger({ level: 'silent' });

  it('refuses a garbage or public-only signing key, naming the file', async () => {
    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, 'not a key');
    const config = parseConfig({ supergraph: SUPERGRAPH, identity: { issuer: 'https://gw', keys: [{ file: garbage }] } }, { env: {} });
    await expect(startGateway(config, { log: silent })).rejects.toThrow(KeyLoadError);
    await expect(startGateway(config, { log: silent })).rejects.toThrow(`${garbage}: neither a PEM key nor a JWK`);
  });

  it('refuses a subgraph override that the supergraph does not have', async () => {
    const key = join(dir, 'key.json');
    const config = parseConfig(
      { supergraph: SUPERGRAPH, subgraphs: { acounts: { url: 'http://127.0.0.1:1/graphql' } }, identity: { issuer: 'https://gw', keys: [{ file: key }], devKeys: true } },
      { env: {} },
    );
    const error = await startGateway(config, { log: silent }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).code).toBe('SUPERGRAPH_MISMATCH');
    expect((error as Error).message).toBe('subgraphs: acounts not in the supergraph (it has accounts, products, reviews); fix the name or recompose');
  });

  it('npm run gateway exits 2 and names the bad key of a malformed config; a missing key file in production refuses to start', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `supergraph: ${SUPERGRAPH}\nlisten: { prot: 4000 }\nidentity: { issuer: https://gw, keys: [{ file: missing.json }] }\n`);
    const failed = await run(process.execPath, [...TSX_NODE_ARGS, 'gateway/main.ts', '--config', file], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' } }).catch((e: unknown) => e as { code: number; stderr: string });
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stderr: string }).stderr).toContain('listen.prot: unknown key (did you mean "port"?)');
    expect((failed as { stderr: string }).stderr).toContain(`identity.keys[0].file: ${join(dir, 'missing.json')} does not exist`);
  }, 30_000);

  it('npm run subgraph names the settings it is missing', async () => {
    const env = { ...process.env };
    delete env.FRONTDESK_GATEWAY_JWKS;
    delete env.FRONTDESK_GATEWAY_ISSUER;
    const failed = (await run(process.execPath, [...TSX_NODE_ARGS, 'subgraphs/shop/main.ts', 'accounts'], { cwd: ROOT, env }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('FRONTDESK_GATEWAY_JWKS is not set');
    expect(failed.stderr).toContain('FRONTDESK_GATEWAY_ISSUER is not set');
  }, 30_000);
});
