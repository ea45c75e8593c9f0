/**
 * Production runs compiled JavaScript, and the kit is a package a subgraph team installs from a tarball.
 * `npm run build` once, then: the compiled gateway runs under plain `node` (no tsx, no `source`
 * condition) and serves a federated query; and the kit, packed with `npm pack` and installed into a
 * project of its own, verifies identity tokens and enforces its directives unchanged.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityKeys } from '../../../gateway/identity/keys.ts';
import { createIdentityMinter } from '../../../gateway/identity/mint.ts';
import { createLogger } from '../../../gateway/log.ts';
import { ANONYMOUS } from '../../../gateway/auth/principal.ts';
import { startStack, ROOT, type Stack } from '../../support/stack.ts';

const run = promisify(execFile);
const children: ChildProcess[] = [];

/** Spawns plain node and resolves with the first stdout line that parses as JSON and passes `ready`. */
function spawnReady(args: string[], cwd: string, ready: (line: Record<string, unknown>) => boolean): Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`not ready within 20 s: ${err}${out}`)), 20_000);
    child.stderr?.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const text of out.split('\n')) {
        try {
          const line = JSON.parse(text) as Record<string, unknown>;
          if (ready(line)) {
            clearTimeout(timer);
            resolve({ child, line });
          }
        } catch {
          // not a JSON line yet
        }
      }
    });
  });
}

beforeAll(async () => {
  await run('npm', ['run', '-s', 'build'], { cwd: ROOT });
}, 120_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('the compiled gateway under plain node', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  it('serves a federated query and its JWKS from dist/, without tsx', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'frontdesk-dist-'));
    const config = join(dir, 'gateway.yaml');
    const subgraphs = Object.entries(stack.subgraphs).map(([name, subgraph]) => `  ${name}: { url: "${subgraph.url}" }`).join('\n');
    writeFileSync(
      config,
      `listen: { host: 127.0.0.1, port: 0 }\nsupergraph: ${join(ROOT, 'schema/supergraph.graphql')}\nsubgraphs:\n${subgraphs}\nauth: { anonymous: true }\nidentity:\n  issuer: ${stack.identityIssuer}\n  keys: [{ file: ${stack.identityKeyFile} }]\n`,
    );
    const { line } = await spawnReady([join(ROOT, 'dist/gateway/main.js'), '--config', config], dir, (l) => l.msg === 'gateway listening');
    const url = line.url as string;
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ topProducts(first: 2) { upc reviews { rating } } }' }) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { topProducts: Array<{ upc: string; reviews: unknown[] }> } };
    expect(body.data.topProducts.map((p) => p.upc)).toEqual(['p001', 'p002']);
    expect(stack.subgraphs.reviews.received.at(-1)?.identity?.claims.iss).toBe(stack.identityIssuer);
    const jwks = (await (await fetch(url.replace('/graphql', '/.well-known/jwks.json'))).json()) as { keys: unknown[] };
    expect(jwks.keys).toHaveLength(1);
  });
});

describe('the kit installed from its npm pack tarball', () => {
  it('a subgraph built only on @frontdesk/kit refuses a request without an identity token and serves one with', async () => {
    const project = mkdtempSync(join(tmpdir(), 'frontdesk-kit-consumer-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: join(ROOT, 'subgraphs/kit') });
    const { filename, files } = (JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
    expect(files.every((file) => file.path === 'package.json' || file.path.startsWith('dist/'))).toBe(true);
    const installed = join(project, 'node_modules/@frontdesk/kit');
    mkdirSync(installed, { recursive: true });
    await run('tar', ['-xzf', join(project, filename), '-C', installed, '--strip-components=1']);
    // The kit's peer dependencies and @apollo/subgraph, as the consumer's own install would provide them.
    for (const dependency of ['graphql', 'jose', 'dataloader', '@apollo/server', '@apollo/subgraph']) {
      const [scope] = dependency.split('/');
      if (dependency.includes('/')) mkdirSync(join(project, 'node_modules', scope as string), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', dependency), join(project, 'node_modules', dependency));
    }
    expect(readdirSync(installed)).toContain('dist');

    const keyDir = mkdtempSync(join(tmpdir(), 'frontdesk-kit-key-'));
    const keyFile = join(keyDir, 'identity.json');
    const silent = createLogger({ level: 'silent' });
    const keys = await loadIdentityKeys({ issuer: 'https://gw.test', header: 'frontdesk-identity', ttlMs: 60_000, keys: [{ file: keyFile, kid: undefined, alg: undefined }], devKeys: true }, silent);
    writeFileSync(
      join(project, 'subgraph.mjs'),
      `import { createServer } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { AUTHZ_DIRECTIVES_SDL, AUTHZ_LINK_SDL, applyAuthorization, createContextFactory, createIdentityVerifier, createSubgraphHandler } from '@frontdesk/kit';
const typeDefs = parse(AUTHZ_LINK_SDL + '\\n' + AUTHZ_DIRECTIVES_SDL + ' type Query { hello: String, secret: String @authenticated }');
const schema = applyAuthorization(buildSubgraphSchema({ typeDefs, resolvers: { Query: { hello: () => 'world', secret: () => 'classified' } } }));
const apollo = new ApolloServer({ schema });
await apollo.start();
const verifier = createIdentityVerifier({ jwks: ${JSON.stringify(keys.jwks)}, issuer: 'https://gw.test', subgraph: 'greetings' });
const context = createContextFactory({ verifier, loaders: () => ({}) });
const server = createServer(createSubgraphHandler({ server: apollo, context }));
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ ready: true, port: server.address().port })));
`,
    );
    const { line } = await spawnReady(['subgraph.mjs'], project, (l) => l.ready === true);
    const url = `http://127.0.0.1:${line.port as number}/graphql`;
    const body = { query: '{ hello secret }', operationName: null, variables: {} };

    const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('UNAUTHENTICATED');

    const mint = createIdentityMinter({ issuer: 'https://gw.test', key: keys.signing, ttlMs: 60_000 });
    const { requestBinding } = await import('@frontdesk/kit/contract');
    const token = await mint(ANONYMOUS, 'greetings', { binding: requestBinding(body) });
    const signed = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'frontdesk-identity': token }, body: JSON.stringify(body) });
    expect(signed.status).toBe(200);
    const answer = (await signed.json()) as { data: Record<string, unknown>; errors: Array<{ path: string[]; extensions: { code: string } }> };
    expect(answer.data).toEqual({ hello: 'world', secret: null });
    expect(answer.errors.map((e) => [e.path, e.extensions.code])).toEqual([[['secret'], 'UNAUTHENTICATED']]);
  });
});
