/**
 * `npm run bench`: frontdesk against plain Apollo Gateway, side by side in one run, on loopback.
 *
 * Three example subgraph processes (verifying identity tokens and enforcing directives), two gateways on
 * the same supergraph and the same subgraphs, and a load generator process. The gateway under load gets
 * core 0 (taskset) to itself; subgraphs and the load generator share core 1. Rounds alternate A B A B
 * after a warm-up; the table shows medians over rounds and the frontdesk/baseline ratios.
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_DURATION seconds per round (default 5), BENCH_WARMUP seconds
 * of load per gateway and query before the rounds (default 6), BENCH_CONNECTIONS
 * (default 10), BENCH_TOKENS distinct user tokens in the pool (default 200), BENCH_OUT (JSON results path),
 * BENCH_ONLY (comma-separated scenario names; default all), BENCH_CHART (PNG chart of the table, bench/chart.ts;
 * default docs/img/bench.png, or beside BENCH_OUT for a BENCH_ONLY run).
 * BENCH_OBSERVABILITY=1 (`npm run bench:observability`) adds a third gateway, **observed**: the same
 * frontdesk config plus Prometheus metrics (scraped every 5 s, as Prometheus would) and tracing at a 10 %
 * sample ratio exporting to an OTLP/HTTP receiver in this process; the table adds observed/frontdesk, from
 * the rounds and from BENCH_SIDE_BY_SIDE_ROUNDS (default 6) rounds where frontdesk and observed are under
 * load at the same moment, sharing core 0 (what else the machine runs then falls on both alike), on
 * BENCH_SIDE_BY_SIDE_PAIRS (default 3) pairs of processes started afresh, each pair warmed up together
 * (BENCH_PAIR_WARMUP seconds, default 60).
 * BENCH_OBSERVED=metrics or tracing turns on only that one in the observed gateway (none: neither, an A/A
 * check of the method itself); BENCH_SAMPLE_RATIO sets its sample ratio (default 0.1).
 * BENCH_SOAK=<seconds> (`npm run bench:soak`: 300 s, 10 000 tokens) then loads frontdesk alone with the
 * cross-subgraph query and samples its RSS every 5 s: caches are bounded, so RSS must level off.
 * Then the credential scenarios (bench/credentials.ts), frontdesk against itself: introspection-cached,
 * api-key, https-mtls (a second frontdesk, HTTPS with client certificates, also on core 0).
 * Besides req/s and latency, each gateway's CPU time per request (µs, its own user + system time over the
 * round): on a shared machine req/s moves with whatever else runs on core 0, CPU per request much less.
 * BENCH_PROFILE=<dir>: the gateways run with `node --cpu-prof` and write their profiles there when stopped.
 * BENCH_GATEWAY_NODE_ARGS: more node flags for the gateways, space-separated (e.g. `--log-deopt
 * --no-logfile-per-isolate --logfile=/tmp/v8/%p.log`).
 * BENCH_VERSUS=<dir> (with BENCH_OBSERVABILITY=1): the frontdesk gateway runs from another checkout of
 * this repository (its dependencies installed, or its node_modules linked to these) with the observed
 * gateway's config, so observed/frontdesk compares two versions of the code under the same settings;
 * BENCH_VERSUS_SAMPLE_RATIO gives that gateway another sample ratio (with BENCH_VERSUS=. : one version,
 * two ratios).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { TSX_NODE_ARGS } from '../dev/node-args.ts';
import { buildGateway, GATEWAY_MAIN, isBuilt } from './built-gateway.ts';
import { setupCredentials, type CredentialSetup } from './credentials.ts';
import { writeBenchChart } from './chart.ts';
import { countSpans } from '../test/support/otlp.ts';
import { cpuSeconds } from './overload-harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
// Seconds of load per gateway and query before the rounds: with 2 s a gateway's req/s still rose by a third
// over the next four rounds (the JIT), and the gateway measured first in a round was the colder one.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 6);
/** With BENCH_OBSERVABILITY: rounds with frontdesk and observed under load at the same time (default 6). */
const SIDE_BY_SIDE_ROUNDS = Number(process.env.BENCH_SIDE_BY_SIDE_ROUNDS ?? 6);
/**
 * The side-by-side rounds are shared among this many pairs of frontdesk and observed processes, each pair
 * started afresh and warmed up together (default 3). One pair carries a bias of its own: an A/A run (both
 * gateways alike) measured 0.971 ×, 1.011 × and 1.026 × on one pair each, however many rounds it ran
 * (docs/performance.md "Observability", sixth pass); fresh pairs average that bias out where more rounds cannot.
 */
const SIDE_BY_SIDE_PAIRS = Math.max(1, Math.min(Number(process.env.BENCH_SIDE_BY_SIDE_PAIRS ?? 3), SIDE_BY_SIDE_ROUNDS));
/**
 * Seconds of side-by-side load on each pair, the first included, before its rounds: a steady state, what a
 * gateway serving for hours runs in, not its JIT's warm-up. With 6 s the observed gateway, more code to
 * compile, measured 5–9 % lower in a fresh pair's first one-fetch round than in its next two, where A/A
 * pairs showed no such step; with 20 s, on a machine serving half as many requests in that time, observed
 * ÷ frontdesk read 0.901 × on one-fetch against 0.955 × with 60 s (docs/performance.md "Observability",
 * twelfth pass).
 */
const PAIR_WARMUP = Number(process.env.BENCH_PAIR_WARMUP ?? 60);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TOKEN_POOL = Number(process.env.BENCH_TOKENS ?? 200);
const OUT = process.env.BENCH_OUT ?? join(ROOT, 'bench/results/latest.json');
// The chart of the table (bench/chart.ts); a BENCH_ONLY run writes it beside BENCH_OUT, not over the docs' one.
const CHART = process.env.BENCH_CHART ?? (process.env.BENCH_ONLY ? OUT.replace(/(\.json)?$/, '.png') : join(ROOT, 'docs/img/bench.png'));
const SOAK_SECONDS = Number(process.env.BENCH_SOAK ?? 0);
const PORTS = { accounts: 4101, products: 4102, reviews: 4103, baseline: 4110, frontdesk: 4111, observed: 4112, observedMetrics: 4113, otlp: 4114, frontdeskTls: 4115, versusMetrics: 4116 };
const OBSERVABILITY = process.env.BENCH_OBSERVABILITY === '1';
/** What the observed gateway turns on: both (the issue's figure), or one of them to see what each costs. */
const OBSERVED = (process.env.BENCH_OBSERVED ?? 'both') as 'both' | 'metrics' | 'tracing' | 'none';
/** The observed gateway's `tracing.sampler.ratio` (the issue's figure is at 0.1). */
const SAMPLE_RATIO = Number(process.env.BENCH_SAMPLE_RATIO ?? 0.1);
/** Another checkout to run the frontdesk gateway from, with the observed config (an A/B of two versions). */
const VERSUS = OBSERVABILITY ? process.env.BENCH_VERSUS : undefined;
const VERSUS_SAMPLE_RATIO = process.env.BENCH_VERSUS_SAMPLE_RATIO;
const GATEWAYS = OBSERVABILITY ? (['baseline', 'frontdesk', 'observed'] as const) : (['baseline', 'frontdesk'] as const);
type Gateway = (typeof GATEWAYS)[number];

export const QUERIES = {
  'single-subgraph': '{ topProducts(first: 5) { upc name price inStock } }',
  'cross-subgraph': '{ topProducts(first: 5) { name price reviews { rating body author { username } } } }',
} as const;

/**
 * Operations every bench user is denied (the tokens hold only products:read; createReview needs
 * reviews:write). frontdesk answers them at the gateway with no subgraph call (docs/authorization.md
 * "Enforced at the gateway too"); the baseline sends them to the subgraph, whose kit denies them. Nothing
 * is written either way. Their answers differ (FORBIDDEN vs the kit's UNAUTHENTICATED, the baseline sending
 * no identity), so they are checked for being denials, not for being equal.
 */
export const DENIED_QUERIES = {
  'fully-denied': 'mutation { createReview(upc: "p001", body: "bench", rating: 5) { id body rating product { name } } }',
} as const;

/** BENCH_ONLY=name[,name]: run only these scenarios (e.g. BENCH_ONLY=fully-denied). */
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean);

const twoCores = process.env.BENCH_PIN !== '0' && cpus().length >= 2 && existsSync('/usr/bin/taskset');
const children: ChildProcess[] = [];

function spawnPinned(core: number, args: string[], env: Record<string, string>, cwd = ROOT): ChildProcess {
  const node = [process.execPath, ...(isBuilt(args) ? [] : TSX_NODE_ARGS), ...args];
  const [command, ...rest] = twoCores ? ['taskset', '-c', String(core), ...node] : node;
  const child = spawn(command as string, rest, { cwd, env: { ...process.env, ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

// Four gateways start at once on one pinned core: on a busy shared machine that takes well over 30 s.
function firstJsonLine(child: ChildProcess, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.ready || parsed.msg === 'gateway listening' || 'rps' in parsed) {
            clearTimeout(timer);
            resolve(parsed);
            return;
          }
        } catch {
          // not a complete JSON line yet
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-bench-'));
  // The users' identity provider: an ES256 key whose JWKS the gateway reads from a file.
  const idp = await generateKeyPair('ES256', { extractable: true });
  const idpJwks = join(dir, 'idp-jwks.json');
  writeFileSync(idpJwks, JSON.stringify({ keys: [{ ...(await exportJWK(idp.publicKey)), kid: 'bench-idp', alg: 'ES256', use: 'sig' }] }));
  const tokens: string[] = [];
  for (let i = 0; i < TOKEN_POOL; i++) {
    tokens.push(
      await new SignJWT({ scope: 'products:read', roles: ['customer'] })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench-idp', typ: 'at+jwt' })
        .setIssuer('https://idp.bench')
        .setAudience('shop-api')
        .setSubject(`u${1 + (i % 40)}-${i}`)
        .setIssuedAt()
        .setExpirationTime('2h')
        .setJti(randomUUID())
        .sign(idp.privateKey),
    );
  }
  // The gateway's identity key, and its public half for the subgraphs.
  const gatewayKey = await generateKeyPair('EdDSA', { extractable: true });
  const privateJwk = { ...(await exportJWK(gatewayKey.privateKey)), kid: 'bench-gw', alg: 'EdDSA' };
  const { d: _d, ...publicJwk } = privateJwk;
  writeFileSync(join(dir, 'identity-key.json'), JSON.stringify(privateJwk));
  const gatewayJwks = join(dir, 'gateway-jwks.json');
  writeFileSync(gatewayJwks, JSON.stringify({ keys: [{ ...publicJwk, use: 'sig' }] }));

  const supergraph = readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8')
    .replace('127.0.0.1:4001', `127.0.0.1:${PORTS.accounts}`)
    .replace('127.0.0.1:4002', `127.0.0.1:${PORTS.products}`)
    .replace('127.0.0.1:4003', `127.0.0.1:${PORTS.reviews}`);
  const supergraphFile = join(dir, 'supergraph.graphql');
  writeFileSync(supergraphFile, supergraph);
  const credentials = await setupCredentials(dir, TOKEN_POOL, { supergraphFile, idpJwks, identityKey: join(dir, 'identity-key.json'), port: PORTS.frontdeskTls });
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `listen: { host: 127.0.0.1, port: ${PORTS.frontdesk} }
supergraph: ${supergraphFile}
logLevel: warn
auth:
  anonymous: false
  jwt:
    - issuer: https://idp.bench
      jwks: ${idpJwks}
      audience: [shop-api]
      algorithms: [ES256]
      typ: at+jwt
${credentials.authYaml}identity:
  issuer: https://gateway.bench
  keys: [{ file: ${join(dir, 'identity-key.json')} }]
`,
  );
  // The same gateway with metrics on and 10 % of traces exported (the figure the issue asks for).
  const observedConfig = join(dir, 'gateway-observed.yaml');
  writeFileSync(
    observedConfig,
    `${readFileSync(config, 'utf8').replace(`port: ${PORTS.frontdesk}`, `port: ${PORTS.observed}`)}${OBSERVED === 'tracing' || OBSERVED === 'none' ? '' : `metrics:
  listen: { host: 127.0.0.1, port: ${PORTS.observedMetrics} }
`}${OBSERVED === 'metrics' || OBSERVED === 'none' ? '' : `tracing:
  otlp: { endpoint: http://127.0.0.1:${PORTS.otlp}/v1/traces }
  sampler: { ratio: ${SAMPLE_RATIO} }
`}`,
  );
  const tokensFile = join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify(tokens));
  return { tokens, tokensFile, gatewayJwks, supergraphFile, config, observedConfig, credentials };
}

async function load(url: string, query: string, tokensFile: string, seconds: number, options?: { startAt?: number }, pid?: number): Promise<{ rps: number; p50: number; p99: number; requests: number; cpuUs: number }> {
  const child = spawnPinned(1, ['bench/load.ts', url, String(seconds), String(CONNECTIONS), JSON.stringify({ query }), tokensFile, ...(options ? [JSON.stringify(options)] : [])], {});
  // From when the load begins (a side-by-side load waits for its start time).
  const startAt = options?.startAt;
  if (startAt !== undefined) await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const cpuBefore = cpuSeconds(pid);
  const result = (await firstJsonLine(child, (seconds + 30) * 1000)) as { rps: number; p50: number; p99: number; requests: number; non2xx: number; errors: number; timeouts: number; lateMs: number };
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx and ${result.errors} errors under load`);
  if (result.lateMs > 250) throw new Error(`${url}: the load started ${result.lateMs} ms after its start time (the load generator took that long to come up)`);
  return { ...result, cpuUs: Math.round(((cpuSeconds(pid) - cpuBefore) * 1e6) / Math.max(1, result.requests)) };
}

function peakRssMb(pid: number | undefined): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return undefined;
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const medians = (rounds: Array<{ rps: number; cpuUs: number }>) => ({ rps: +median(rounds.map((r) => r.rps)).toFixed(3), cpuUs: +median(rounds.map((r) => r.cpuUs)).toFixed(3) });
const pairMedians = (rounds: Array<{ pair: number; rps: number; cpuUs: number }>) =>
  [...new Set(rounds.map((r) => r.pair))].map((pair) => medians(rounds.filter((r) => r.pair === pair)));

/** Stops a gateway at once (no drain: nothing is measured on it any more) and waits for its exit. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** BENCH_VERSUS: the observed config on frontdesk's ports, for the other checkout. */
function versusConfig(observedConfig: string): string {
  const file = observedConfig.replace(/observed\.yaml$/, 'versus.yaml');
  const observed = readFileSync(observedConfig, 'utf8').replace(`port: ${PORTS.observed}`, `port: ${PORTS.frontdesk}`).replace(`port: ${PORTS.observedMetrics}`, `port: ${PORTS.versusMetrics}`);
  writeFileSync(file, VERSUS_SAMPLE_RATIO === undefined ? observed : observed.replace(`ratio: ${SAMPLE_RATIO}`, `ratio: ${Number(VERSUS_SAMPLE_RATIO)}`));
  return file;
}

async function main() {
  const started = Date.now();
  // This process is the operator's collector and Prometheus (OTLP receiver, scrapes): off the gateways' core,
  // with the subgraphs and the load generator, as they would be on other machines.
  if (twoCores) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const { tokens, tokensFile, gatewayJwks, supergraphFile, config, observedConfig, credentials } = await setup();
  const subgraphEnv = { BENCH_GATEWAY_ISSUER: 'https://gateway.bench', BENCH_GATEWAY_JWKS: gatewayJwks };
  await Promise.all(
    (['accounts', 'products', 'reviews'] as const).map((name) => firstJsonLine(spawnPinned(1, ['bench/subgraph.ts', name], { ...subgraphEnv, PORT: String(PORTS[name]) }))),
  );
  // The gateways as production runs them (./built-gateway.ts); the baseline is a script around Apollo's own JavaScript.
  for (const root of VERSUS ? [ROOT, VERSUS] : [ROOT]) buildGateway(root);
  const profile = [...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []), ...(process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const baseline = spawnPinned(0, [...profile, 'bench/baseline-gateway.ts'], { BENCH_SUPERGRAPH: supergraphFile, PORT: String(PORTS.baseline) });
  const startFrontdesk = () =>
    VERSUS ? spawnPinned(0, [...profile, GATEWAY_MAIN, '--config', versusConfig(observedConfig)], {}, VERSUS) : spawnPinned(0, [...profile, GATEWAY_MAIN, '--config', config], {});
  const startObserved = () => spawnPinned(0, [...profile, GATEWAY_MAIN, '--config', observedConfig], {});
  let frontdesk = startFrontdesk();
  let observed = OBSERVABILITY ? startObserved() : undefined;
  const telemetry = OBSERVABILITY ? await startTelemetrySinks() : undefined;
  const frontdeskTls = spawnPinned(0, [GATEWAY_MAIN, '--config', credentials.tlsConfig], {});
  await Promise.all([firstJsonLine(baseline), firstJsonLine(frontdesk), firstJsonLine(frontdeskTls), ...(observed ? [firstJsonLine(observed)] : [])]);
  const gateways: Record<Gateway, string> = {
    baseline: `http://127.0.0.1:${PORTS.baseline}/`,
    frontdesk: `http://127.0.0.1:${PORTS.frontdesk}/graphql`,
    ...(OBSERVABILITY ? { observed: `http://127.0.0.1:${PORTS.observed}/graphql` } : {}),
  } as Record<Gateway, string>;
  const pids: Record<Gateway, number | undefined> = { baseline: baseline.pid, frontdesk: frontdesk.pid, ...(observed ? { observed: observed.pid } : {}) } as Record<Gateway, number | undefined>;

  // Same answer from both before measuring anything.
  for (const query of Object.values(QUERIES)) {
    const answers = await Promise.all(
      Object.values(gateways).map(async (url) => {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` }, body: JSON.stringify({ query }) });
        return JSON.stringify(await response.json());
      }),
    );
    if (answers.some((answer) => answer !== answers[0]) || answers[0]?.includes('"errors"')) throw new Error(`gateways disagree on ${query}:\n${answers.join('\n')}`);
  }
  for (const query of Object.values(DENIED_QUERIES)) {
    for (const url of Object.values(gateways)) {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` }, body: JSON.stringify({ query }) });
      const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> };
      const code = body.errors?.[0]?.extensions?.code;
      if (response.status !== 200 || Object.values(body.data ?? {}).some((v) => v !== null) || (code !== 'FORBIDDEN' && code !== 'UNAUTHENTICATED')) {
        throw new Error(`${url} does not deny ${query}: ${JSON.stringify(body)}`);
      }
    }
  }

  if (SOAK_SECONDS > 0) return soak(gateways.frontdesk, frontdesk.pid, tokensFile, started);

  const results: Record<string, Record<string, Array<{ rps: number; p50: number; p99: number; cpuUs: number }>>> = {};
  for (const [queryName, query] of Object.entries({ ...QUERIES, ...DENIED_QUERIES })) {
    if (ONLY && !ONLY.includes(queryName)) continue;
    results[queryName] = Object.fromEntries(GATEWAYS.map((gateway) => [gateway, []]));
    for (const gateway of GATEWAYS) await load(gateways[gateway], query, tokensFile, WARMUP); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      // Each gateway goes first in turn (A B C, B C A, …): none always runs on a warmer or cooler machine.
      const order = GATEWAYS.map((_, i) => GATEWAYS[(i + round) % GATEWAYS.length] as Gateway);
      for (const gateway of order) {
        const result = await load(gateways[gateway], query, tokensFile, DURATION, undefined, pids[gateway]);
        results[queryName]?.[gateway]?.push({ rps: result.rps, p50: result.p50, p99: result.p99, cpuUs: result.cpuUs });
        process.stderr.write(`  ${queryName} round ${round + 1} ${gateway}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.cpuUs} µs CPU/request\n`);
      }
    }
  }

  // Side by side: frontdesk and observed under load at the same moment, on the same core, so whatever else
  // the shared machine runs falls on both alike (sequential rounds moved by ±25 % from one to the next).
  const sideBySide: Record<string, Array<{ pair: number; rps: number; cpuUs: number }>> = {};
  const peakRss: Partial<Record<Gateway, number>> = {};
  for (const [queryName, query] of OBSERVABILITY ? Object.entries(QUERIES) : []) {
    if (ONLY && !ONLY.includes(queryName)) continue;
    sideBySide[queryName] = [];
    const bothAtOnce = (seconds: number) => {
      const startAt = Date.now() + 4_000; // both load generators are up by then
      return Promise.all([load(gateways.frontdesk, query, tokensFile, seconds, { startAt }, pids.frontdesk), load(gateways.observed, query, tokensFile, seconds, { startAt }, pids.observed)]);
    };
    for (let round = 0, pair = -1; round < SIDE_BY_SIDE_ROUNDS; round++) {
      if (Math.floor((round * SIDE_BY_SIDE_PAIRS) / SIDE_BY_SIDE_ROUNDS) !== pair) {
        pair++;
        if (pair > 0 && observed) {
          // A fresh pair (see SIDE_BY_SIDE_PAIRS); the peak RSS reported is the highest of any process.
          for (const [name, child] of [['frontdesk', frontdesk], ['observed', observed]] as const) peakRss[name] = Math.max(peakRss[name] ?? 0, peakRssMb(child.pid) ?? 0);
          await Promise.all([stop(frontdesk), stop(observed)]);
          [frontdesk, observed] = [startFrontdesk(), startObserved()];
          await Promise.all([firstJsonLine(frontdesk), firstJsonLine(observed)]);
          [pids.frontdesk, pids.observed] = [frontdesk.pid, observed.pid];
        }
        await bothAtOnce(PAIR_WARMUP);
      }
      const [f, o] = await bothAtOnce(DURATION);
      sideBySide[queryName]?.push({ pair, rps: +(o.rps / f.rps).toFixed(3), cpuUs: +(o.cpuUs / f.cpuUs).toFixed(3) });
      process.stderr.write(`  ${queryName} side by side ${round + 1} (pair ${pair + 1}): frontdesk ${Math.round(f.rps)} req/s, ${f.cpuUs} µs CPU/request; observed ${Math.round(o.rps)} req/s, ${o.cpuUs} µs CPU/request\n`);
    }
  }

  type Summary = { rps: number; p50: number; p99: number; cpuUs: number };
  const ratio = (a: Summary, b: Summary) => ({ rps: +(a.rps / b.rps).toFixed(3), p50: +(a.p50 / b.p50).toFixed(3), p99: +(a.p99 / b.p99).toFixed(3), cpuUs: +(a.cpuUs / b.cpuUs).toFixed(3) });
  const table = Object.entries(results).map(([query, byGateway]) => {
    const summary = (gateway: Gateway): Summary => {
      const runs = byGateway[gateway] ?? [];
      return { rps: Math.round(median(runs.map((r) => r.rps))), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), cpuUs: Math.round(median(runs.map((r) => r.cpuUs))) };
    };
    const b = summary('baseline');
    const f = summary('frontdesk');
    const o = OBSERVABILITY ? summary('observed') : undefined;
    return {
      query,
      baseline: b,
      frontdesk: f,
      ratio: ratio(f, b),
      ...(o ? { observed: o, observedVsFrontdesk: ratio(o, f), observedVsBaseline: ratio(o, b), observedVsFrontdeskByRound: (byGateway.observed ?? []).map((r, i) => +(r.rps / (byGateway.frontdesk?.[i]?.rps ?? Number.NaN)).toFixed(3)) } : {}),
      ...(sideBySide[query]?.length ? { observedVsFrontdeskSideBySide: { ...medians(sideBySide[query]), pairs: pairMedians(sideBySide[query]), rounds: sideBySide[query] } } : {}),
    };
  });
  const credentialTable = await credentialScenarios(gateways.frontdesk, tokensFile, credentials);
  const highest = (gateway: Gateway, pid: number | undefined) => Math.max(peakRss[gateway] ?? 0, peakRssMb(pid) ?? 0) || undefined;
  const memory = { baselinePeakRssMb: peakRssMb(baseline.pid), frontdeskPeakRssMb: highest('frontdesk', frontdesk.pid), ...(observed ? { observedPeakRssMb: highest('observed', observed.pid) } : {}) };

  const line = (cells: string[]) => `${cells.map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(12))).join(' ')}\n`;
  const ratioCells = (name: string, r: Summary) => ['', name, `${r.rps}x`, `${r.p50}x`, `${r.p99}x`, `${r.cpuUs}x`];
  const cells = (query: string, name: string, s: Summary) => [query, name, String(s.rps), String(s.p50), String(s.p99), String(s.cpuUs)];
  process.stdout.write(`\nfrontdesk vs plain Apollo Gateway — medians of ${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections, ${TOKEN_POOL} tokens${twoCores ? ', gateway pinned to core 0' : ''}\n\n`);
  process.stdout.write(line(['query', 'gateway', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req']));
  for (const row of table) {
    process.stdout.write(line(cells(row.query, 'baseline', row.baseline)));
    process.stdout.write(line(cells('', 'frontdesk', row.frontdesk)));
    process.stdout.write(line(ratioCells('ratio', row.ratio)));
    if (row.observed && row.observedVsFrontdesk && row.observedVsBaseline && row.observedVsFrontdeskByRound) {
      process.stdout.write(line(cells('', 'observed', row.observed)));
      process.stdout.write(line(ratioCells('obs/frontdesk', row.observedVsFrontdesk)));
      process.stdout.write(line(ratioCells('obs/baseline', row.observedVsBaseline)));
      process.stdout.write(`${''.padEnd(16)} obs/frontdesk req/s round by round: ${row.observedVsFrontdeskByRound.join(', ')}\n`);
    }
    const paired = row.observedVsFrontdeskSideBySide;
    if (paired) {
      process.stdout.write(`${''.padEnd(16)} obs/frontdesk side by side (both under load at once), median of ${paired.rounds.length} rounds on ${paired.pairs.length} process pairs: req/s ${paired.rps}x, CPU µs/req ${paired.cpuUs}x\n`);
      process.stdout.write(`${''.padEnd(16)}   each pair's median: req/s ${paired.pairs.map((p) => p.rps).join(', ')}; CPU ${paired.pairs.map((p) => p.cpuUs).join(', ')}\n`);
      process.stdout.write(`${''.padEnd(16)}   req/s round by round: ${paired.rounds.map((r) => r.rps).join(', ')}; CPU: ${paired.rounds.map((r) => r.cpuUs).join(', ')}\n`);
    }
  }
  if (telemetry) {
    process.stdout.write(`\nobserved: ${telemetry.spans} spans received over OTLP/HTTP, ${telemetry.scrapes} /metrics scrapes\n`);
    telemetry.stop();
  }
  process.stdout.write(`\ncredentials, frontdesk against itself (ratio = B/A)\n\n`);
  process.stdout.write(line(['scenario', 'variant', 'req/s', 'p50 ms', 'p99 ms']));
  for (const row of credentialTable) {
    process.stdout.write(line([row.scenario, `A ${row.a.label}`, String(row.a.rps), String(row.a.p50), String(row.a.p99)]));
    process.stdout.write(line(['', `B ${row.b.label}`, String(row.b.rps), String(row.b.p50), String(row.b.p99)]));
    process.stdout.write(line(['', 'ratio', `${row.ratio.rps}x`, `${row.ratio.p50}x`, `${row.ratio.p99}x`]));
  }
  process.stdout.write(`\npeak RSS: ${Object.entries(memory).map(([k, v]) => `${k.replace('PeakRssMb', '')} ${v} MB`).join(', ')}; took ${Math.round((Date.now() - started) / 1000)} s\n`);
  mkdirSync(join(OUT, '..'), { recursive: true });
  const output = { date: new Date().toISOString(), rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS, tokens: TOKEN_POOL, pinned: twoCores, table, credentials: credentialTable, memory, raw: results };
  writeFileSync(OUT, `${JSON.stringify(output, null, 2)}\n`);
  process.stdout.write(`results: ${OUT}\nchart: ${writeBenchChart(output, CHART)}\n`);
}

/**
 * What an operator's stack would do to the observed gateway: an OTLP/HTTP receiver (counting the spans
 * of each JSON batch) and a Prometheus-like scrape of /metrics every 5 s. Runs in this (unpinned) process.
 */
async function startTelemetrySinks(): Promise<{ readonly spans: number; readonly scrapes: number; stop(): void }> {
  const counts = { spans: 0, scrapes: 0 };
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      counts.spans += countSpans(Buffer.concat(chunks), req.headers['content-type']);
      // An empty ExportTraceServiceResponse (full success), in the request's encoding.
      const json = req.headers['content-type']?.startsWith('application/json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(PORTS.otlp, '127.0.0.1', resolve));
  receiver.unref();
  // BENCH_VERSUS: the other checkout's gateway is scraped alike (its scrapes are not counted).
  const scraped = [PORTS.observedMetrics, ...(VERSUS ? [PORTS.versusMetrics] : [])];
  const scraper = setInterval(() => {
    for (const port of scraped) {
      fetch(`http://127.0.0.1:${port}/metrics`).then(
        async (response) => {
          await response.text();
          if (port === PORTS.observedMetrics) counts.scrapes++;
        },
        () => {},
      );
    }
  }, 5_000).unref();
  return {
    get spans() {
      return counts.spans;
    },
    get scrapes() {
      return counts.scrapes;
    },
    stop() {
      clearInterval(scraper);
      receiver.close();
      receiver.closeAllConnections();
    },
  };
}

interface Variant {
  label: string;
  url: string;
  file: string;
  options?: object;
}

/** Each credential scenario: A and B alternating over rounds after a warm-up (which fills the caches). */
async function credentialScenarios(frontdeskUrl: string, tokensFile: string, credentials: CredentialSetup) {
  const jwt: Variant = { label: 'jwt', url: frontdeskUrl, file: tokensFile };
  const scenarios: Array<{ scenario: string; query: string; a: Variant; b: Variant }> = [
    { scenario: 'introspection-cached', query: QUERIES['single-subgraph'], a: jwt, b: { label: 'introspected', url: frontdeskUrl, file: credentials.opaqueFile } },
    { scenario: 'api-key', query: QUERIES['single-subgraph'], a: jwt, b: { label: 'api key', url: frontdeskUrl, file: credentials.apiKeysFile, options: { header: 'x-api-key', prefix: '' } } },
    {
      scenario: 'https-mtls',
      query: QUERIES['cross-subgraph'],
      a: { label: 'http jwt', url: frontdeskUrl, file: tokensFile },
      b: { label: 'https mtls', url: `https://127.0.0.1:${PORTS.frontdeskTls}/graphql`, file: credentials.noneFile, options: { tls: credentials.tls } },
    },
  ];
  const rows = [];
  for (const { scenario, query, a, b } of scenarios) {
    if (ONLY && !ONLY.includes(scenario)) continue;
    const runs: Record<'a' | 'b', Array<{ rps: number; p50: number; p99: number }>> = { a: [], b: [] };
    for (const variant of [a, b]) await load(variant.url, query, variant.file, 2, variant.options); // warm-up: every cache filled
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
        const variant = side === 'a' ? a : b;
        const result = await load(variant.url, query, variant.file, DURATION, variant.options);
        runs[side].push({ rps: result.rps, p50: result.p50, p99: result.p99 });
        process.stderr.write(`  ${scenario} round ${round + 1} ${variant.label}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms\n`);
      }
    }
    const summary = (side: 'a' | 'b') => ({ rps: Math.round(median(runs[side].map((r) => r.rps))), p50: median(runs[side].map((r) => r.p50)), p99: median(runs[side].map((r) => r.p99)) });
    const sa = summary('a');
    const sb = summary('b');
    rows.push({ scenario, a: { label: a.label, ...sa }, b: { label: b.label, ...sb }, ratio: { rps: +(sb.rps / sa.rps).toFixed(3), p50: +(sb.p50 / sa.p50).toFixed(3), p99: +(sb.p99 / sa.p99).toFixed(3) }, raw: runs });
  }
  credentials.introspection.close();
  return rows;
}

function currentRssMb(pid: number | undefined): number | undefined {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);
  } catch {
    return undefined;
  }
}

/** Frontdesk alone under SOAK_SECONDS of load with the whole token pool; RSS sampled every 5 s. */
async function soak(url: string, pid: number | undefined, tokensFile: string, started: number) {
  const samples: Array<{ second: number; rssMb: number | undefined }> = [];
  const loading = load(url, QUERIES['cross-subgraph'], tokensFile, SOAK_SECONDS);
  const timer = setInterval(() => {
    samples.push({ second: Math.round((Date.now() - started) / 1000), rssMb: currentRssMb(pid) });
    process.stderr.write(`  soak ${samples.at(-1)?.second}s: RSS ${samples.at(-1)?.rssMb} MB\n`);
  }, 5_000);
  const result = await loading.finally(() => clearInterval(timer));
  const rss = samples.map((s) => s.rssMb ?? 0);
  const fifth = Math.max(1, Math.floor(rss.length / 5));
  const summary = {
    seconds: SOAK_SECONDS,
    tokens: TOKEN_POOL,
    requests: result.requests,
    rps: Math.round(result.rps),
    peakRssMb: peakRssMb(pid),
    firstFifthMaxRssMb: Math.max(...rss.slice(0, fifth)),
    lastFifthMaxRssMb: Math.max(...rss.slice(-fifth)),
  };
  process.stdout.write(`\nsoak: ${JSON.stringify(summary)}\n`);
  mkdirSync(join(OUT, '..'), { recursive: true });
  writeFileSync(OUT.replace(/\.json$/, '-soak.json'), `${JSON.stringify({ date: new Date().toISOString(), ...summary, samples }, null, 2)}\n`);
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGTERM');
}
