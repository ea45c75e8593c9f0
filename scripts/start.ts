/**
 * `npm start`: the whole local stack, each service its own process as it would be deployed — the token
 * issuer (:4005), the sign-in IdP with its login form (:4007), the gateway (:4000, and over HTTPS with
 * mutual TLS on :4443), the three subgraphs (:4001-4003) and the demo app (:4006). Ctrl-C stops them all.
 * The first run makes dev certificates and a demo API key (.dev/).
 *
 * `npm start -- --fleet` (README "Scaling out"): the same stack with a second gateway on :4010, both
 * sharing one Redis (docs/fleet.md) — FRONTDESK_REDIS_URL when set, else a redis-server of its own on :4008.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startDemoApp } from '../dev/demo/server.ts';
import { ensureDemoApiKey, ensureDevCertificates } from '../dev/first-run.ts';
import { DEV_IDP_ISSUER, DEV_IDP_RESOURCE, DEV_SPA_CLIENT_ID } from '../dev/idp-clients.ts';
import { TSX_NODE_ARGS } from '../dev/node-args.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];
const GATEWAY = 'http://127.0.0.1:4000';
const DEMO_PORT = 4006;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  FRONTDESK_GATEWAY_JWKS: `${GATEWAY}/.well-known/jwks.json`,
  FRONTDESK_GATEWAY_ISSUER: GATEWAY,
};
const { fleet } = parseArgs({ options: { fleet: { type: 'boolean', default: false } } }).values;
const FLEET_GATEWAY = 'http://127.0.0.1:4010';
const FLEET_REDIS_PORT = 4008;
const COLORS = { issuer: 35, idp: 95, gateway: 36, 'gw-tls': 96, 'gw-2': 36, redis: 31, accounts: 32, products: 33, reviews: 34 } as const;

/** A TypeScript service of the stack under tsx. */
function run(name: keyof typeof COLORS, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  return runCommand(name, process.execPath, [...TSX_NODE_ARGS, ...args], extraEnv);
}

function runCommand(name: keyof typeof COLORS, command: string, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `\x1b[${COLORS[name]}m${name.padEnd(8)}\x1b[0m| `;
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`${prefix}${line}\n`);
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stdout.write(`${prefix}exited (${signal ?? code}); stopping the stack\n`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitFor(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Resolves once something accepts TCP connections on the port. */
async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  while (!(await accepts())) {
    if (Date.now() > deadline) throw new Error(`nothing listens on :${port} after ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let stopping = false;
let demo: Awaited<ReturnType<typeof startDemoApp>> | undefined;
async function stop(code: number): Promise<never> {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all([
    demo?.close(),
    ...children.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))),
  ]);
  process.exit(code);
}
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));

ensureDevCertificates(root);
ensureDemoApiKey(root);

// The fleet's shared Redis: both gateways read FRONTDESK_REDIS_URL (gateway.yaml `store.redis.url`).
if (fleet) {
  if (!process.env.FRONTDESK_REDIS_URL) {
    runCommand('redis', 'redis-server', ['--port', String(FLEET_REDIS_PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    await waitForPort(FLEET_REDIS_PORT);
    env.FRONTDESK_REDIS_URL = `redis://127.0.0.1:${FLEET_REDIS_PORT}`;
  }
}

run('issuer', ['dev/issuer.ts']);
run('idp', ['dev/idp.ts']);
await Promise.all([waitFor('http://127.0.0.1:4005/.well-known/openid-configuration'), waitFor(`${DEV_IDP_ISSUER}/.well-known/openid-configuration`)]);
// Pretty log lines for people (gateway.yaml reads FRONTDESK_LOG_FORMAT); colours when this terminal has them.
run('gateway', ['gateway/main.ts', '--config', 'gateway.yaml'], { FRONTDESK_LOG_FORMAT: 'pretty', ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}) });
await waitFor(`${GATEWAY}/readyz`);
run('gw-tls', ['gateway/main.ts', '--config', 'dev/gateway.tls.yaml']);
if (fleet) {
  run('gw-2', ['gateway/main.ts', '--config', 'gateway.yaml'], { FRONTDESK_PORT: '4010', FRONTDESK_LOG_FORMAT: 'pretty', ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}) });
  await waitFor(`${FLEET_GATEWAY}/readyz`);
}
run('accounts', ['subgraphs/shop/main.ts', 'accounts']);
run('products', ['subgraphs/shop/main.ts', 'products']);
run('reviews', ['subgraphs/shop/main.ts', 'reviews']);
await Promise.all(['4001', '4002', '4003'].map((port) => waitFor(`http://127.0.0.1:${port}/healthz`)));
// The demo app (dev/demo/): a page signed in by the gateway's cookie session, and one with bearer tokens.
try {
  demo = await startDemoApp({ gateway: GATEWAY, issuer: DEV_IDP_ISSUER, spaClientId: DEV_SPA_CLIENT_ID, resource: DEV_IDP_RESOURCE }, { port: DEMO_PORT });
} catch (error) {
  process.stdout.write(`demo app: cannot listen on :${DEMO_PORT} (${(error as Error).message}); stopping the stack\n`);
  await stop(1);
}

const query = '{ topProducts(first: 2) { name price reviews { rating author { username } } } me { username email } }';
process.stdout.write(`
  frontdesk is up: ${GATEWAY}/graphql

  1. get a token for a demo user (alice: admin, bob: customer, carol: staff):
       TOKEN=$(npm run -s token -- alice)
  2. send a query with it:
       curl -s ${GATEWAY}/graphql -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\
         -d '${JSON.stringify({ query })}'

  Without the authorization header the same query runs anonymously (me is null).

  3. an opaque token, introspected at the issuer (RFC 7662):
       TOKEN=$(npm run -s token -- bob --opaque)   # then the same curl
  4. the demo API key (made on first run; see npm run apikey -- list):
       curl -s ${GATEWAY}/graphql -H 'content-type: application/json' -H "x-api-key: $(cat .dev/demo-api-key)" \\
         -d '{"query":"{ topProducts(first: 2) { name } }"}'
  5. over HTTPS with the demo service's client certificate (principal mtls:mesh:ci-runner):
       curl -s https://127.0.0.1:4443/graphql --cacert .dev/tls/ca.crt --cert .dev/tls/ci-runner.crt --key .dev/tls/ci-runner.key \\
         -H 'content-type: application/json' -d '{"query":"{ topProducts(first: 2) { name } }"}'
  6. in a browser, the demo app: sign in as alice, bob or carol (password <name>-password), run the query, sign out:
       ${demo!.url}/            (the gateway's cookie session; ${demo!.url}/bearer.html: bearer tokens)

${fleet ? `  7. the fleet: a second gateway at ${FLEET_GATEWAY}/graphql shares ${env.FRONTDESK_REDIS_URL} with the first
       (rate limits, revocations, sessions and API keys are one for both; README "Scaling out")
` : ''}
  Ctrl-C stops every process.
`);
