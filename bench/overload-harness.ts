/**
 * The overload bench's machinery (bench/overload.ts has the scenarios; bench/sampling.ts and bench/run.ts
 * use parts of it): processes pinned to cores, the bench's users and keys, the load generator, sampling of
 * the gateway process (RSS, open sockets, CPU time, health latency), recovery probes, and the bench
 * subgraphs' fault switch.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { TSX_NODE_ARGS } from '../dev/node-args.ts';
import { isBuilt } from './built-gateway.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PORTS = { accounts: 4201, products: 4202, reviews: 4203, gateway: 4211 } as const;
export const SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS ?? 8);
export const LIMIT_SECONDS = Number(process.env.BENCH_OVERLOAD_LIMIT ?? 480);
export const OUT = join(ROOT, 'bench/results/overload.json');
export const QUERIES = {
  cross: '{ topProducts(first: 5) { name price reviews { rating body author { username } } } }',
  productsOnly: '{ topProducts(first: 5) { upc name price inStock } }',
} as const;
export const pinned = process.env.BENCH_PIN !== '0' && cpus().length >= 2 && existsSync('/usr/bin/taskset');
const children: ChildProcess[] = [];
/** Whether `nice` may raise a child's priority here (root, or CAP_SYS_NICE); else it only warns. */
const canRaisePriority = ((probe) => probe.status === 0 && !/cannot set niceness/.test(probe.stderr?.toString() ?? ''))(spawnSync('nice', ['-n', '-1', 'true']));
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A node child on `core` (when pinned); `priority` raises it (a negative nice value, when allowed). */
export function spawnNode(core: number, args: string[], env: Record<string, string> = {}, priority = 0): ChildProcess {
  const node = [process.execPath, ...(isBuilt(args) ? [] : TSX_NODE_ARGS), ...args];
  const onCore = pinned ? ['taskset', '-c', String(core), ...node] : node;
  const [command, ...rest] = priority < 0 && canRaisePriority ? ['nice', '-n', String(priority), ...onCore] : onCore;
  const child = spawn(command as string, rest, { cwd: ROOT, env: { ...process.env, ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

export function firstJsonLine(child: ChildProcess, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no JSON line within ${timeoutMs} ms: ${err.slice(-1000)}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.ready || parsed.msg === 'gateway listening' || 'answered' in parsed || 'probes' in parsed || 'rps' in parsed) {
            clearTimeout(timer);
            return resolve(parsed);
          }
        } catch {
          // not a whole line yet
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

export async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-overload-'));
  const idp = await generateKeyPair('ES256', { extractable: true });
  const idpJwks = join(dir, 'idp-jwks.json');
  writeFileSync(idpJwks, JSON.stringify({ keys: [{ ...(await exportJWK(idp.publicKey)), kid: 'bench-idp', alg: 'ES256', use: 'sig' }] }));
  const sign = (sub: string) =>
    new SignJWT({ scope: 'products:read', roles: ['customer'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'bench-idp', typ: 'at+jwt' })
      .setIssuer('https://idp.bench')
      .setAudience('shop-api')
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('2h')
      .setJti(randomUUID())
      .sign(idp.privateKey);
  // One user per connection of the largest load (500 connections): see bench/overload-load.ts.
  const tokens = await Promise.all(Array.from({ length: 500 }, (_, i) => sign(`u${i}`)));
  const tokensFile = join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify(tokens));
  const oneTokenFile = join(dir, 'one-token.json');
  writeFileSync(oneTokenFile, JSON.stringify([tokens[0]]));
  const gatewayKey = await generateKeyPair('EdDSA', { extractable: true });
  const privateJwk = { ...(await exportJWK(gatewayKey.privateKey)), kid: 'bench-gw', alg: 'EdDSA' };
  const { d: _d, ...publicJwk } = privateJwk;
  writeFileSync(join(dir, 'identity-key.json'), JSON.stringify(privateJwk));
  const gatewayJwks = join(dir, 'gateway-jwks.json');
  writeFileSync(gatewayJwks, JSON.stringify({ keys: [{ ...publicJwk, use: 'sig' }] }));
  const supergraph = join(dir, 'supergraph.graphql');
  writeFileSync(
    supergraph,
    readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8')
      .replace('127.0.0.1:4001', `127.0.0.1:${PORTS.accounts}`)
      .replace('127.0.0.1:4002', `127.0.0.1:${PORTS.products}`)
      .replace('127.0.0.1:4003', `127.0.0.1:${PORTS.reviews}`),
  );
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `listen: { host: 127.0.0.1, port: ${PORTS.gateway} }
supergraph: ${supergraph}
logLevel: error
auth:
  anonymous: false
  jwt: [{ issuer: https://idp.bench, jwks: ${idpJwks}, audience: [shop-api], algorithms: [ES256], typ: at+jwt }]
identity: { issuer: https://gateway.bench, keys: [{ file: ${join(dir, 'identity-key.json')} }] }
${process.env.BENCH_ADMISSION ? `admission: ${process.env.BENCH_ADMISSION}\n` : ''}${process.env.BENCH_SUBGRAPH_DEFAULTS ? `subgraphDefaults: ${process.env.BENCH_SUBGRAPH_DEFAULTS}\n` : ''}`,
  );
  return { tokens, tokensFile, oneTokenFile, gatewayJwks, config };
}

export interface LoadResult {
  sent: number;
  answered: number;
  answeredPerSecond: number;
  shed: number;
  byStatus: Record<string, number>;
  errors: number;
  timeouts: number;
  p50: number | null;
  p99: number | null;
}

export function load(query: string, tokensFile: string, options: { seconds?: number; connections: number; rate?: number }): Promise<LoadResult> {
  const seconds = options.seconds ?? SECONDS;
  const args = ['bench/overload-load.ts', `http://127.0.0.1:${PORTS.gateway}/graphql`, String(seconds), String(options.connections), String(options.rate ?? 0), JSON.stringify({ query }), tokensFile];
  return firstJsonLine(spawnNode(1, args), (seconds + 60) * 1000) as unknown as Promise<LoadResult>;
}

/** The gateway process as the OS sees it: resident memory and open sockets. */
export function gatewayProcess(pid: number) {
  return {
    rssMb: () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024),
    sockets: () =>
      readdirSync(`/proc/${pid}/fd`).filter((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
        } catch {
          return false;
        }
      }).length,
  };
}

/**
 * CPU seconds (user + system) a process has used, from /proc/<pid>/stat (proc(5): utime and stime, fields
 * 14 and 15, in clock ticks of 1/100 s on Linux). Per request it is the gateway's own cost: time the core
 * spent on other processes — the noise of a shared machine — is not in it, where it is in req/s. NaN
 * without /proc.
 */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * While `during` runs (`seconds` long): health latency from two probers — this process every 100 ms, as
 * before, and bench/overload-probe.ts every 20 ms at a raised priority, whose figure is the gateway's own —
 * and RSS and sockets every 250 ms.
 */
export async function sampled<T>(pid: number, during: Promise<T>, seconds = SECONDS) {
  const gw = gatewayProcess(pid);
  const probe = firstJsonLine(spawnNode(1, ['bench/overload-probe.ts', `http://127.0.0.1:${PORTS.gateway}/healthz`, String(seconds)], {}, -10), (seconds + 60) * 1000) as unknown as Promise<{ probes: number; p50: number; p99: number; max: number }>;
  const health: number[] = [];
  let maxRss = 0;
  let maxSockets = 0;
  let done = false;
  const healthLoop = (async () => {
    while (!done) {
      const started = performance.now();
      try {
        await (await fetch(`http://127.0.0.1:${PORTS.gateway}/healthz`, { signal: AbortSignal.timeout(5_000) })).arrayBuffer();
        health.push(performance.now() - started);
      } catch {
        health.push(5_000);
      }
      await sleep(100);
    }
  })();
  const os = setInterval(() => {
    maxRss = Math.max(maxRss, gw.rssMb());
    maxSockets = Math.max(maxSockets, gw.sockets());
  }, 250);
  try {
    const result = await during;
    const prober = await probe;
    return {
      result,
      health: { probes: prober.probes, p50Ms: prober.p50, p99Ms: prober.p99, maxMs: prober.max },
      healthP99Ms: round(quantile(health, 0.99)),
      healthMaxMs: round(Math.max(...health)),
      maxRssMb: maxRss,
      maxSockets,
    };
  } finally {
    done = true;
    clearInterval(os);
    await healthLoop;
  }
}

export const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
export const round = (n: number) => Math.round(n * 10) / 10;

export async function query(token: string, text: string, signal?: AbortSignal): Promise<{ ms: number; body: { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> } }> {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${PORTS.gateway}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: text }),
    signal: signal ?? AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as never;
  return { ms: performance.now() - started, body };
}

/** Sequential probes after a load: ms from the load's end until 5 in a row answer within `normalMs`. */
export async function recovery(token: string, normalMs: number, limitMs = 30_000): Promise<number | null> {
  const stopped = performance.now();
  let streak = 0;
  let streakStart = 0;
  while (performance.now() - stopped < limitMs) {
    const probeStart = performance.now();
    const { ms, body } = await query(token, QUERIES.cross).catch(() => ({ ms: Infinity, body: { errors: [{}] } }));
    if (ms <= normalMs && !body.errors) {
      if (streak++ === 0) streakStart = probeStart;
      if (streak === 5) return Math.round(streakStart - stopped);
    } else streak = 0;
    await sleep(50);
  }
  return null;
}

export async function subgraph(name: keyof typeof PORTS, path: 'count' | 'fault', mode?: string): Promise<{ received: number }> {
  const response = await fetch(`http://127.0.0.1:${PORTS[name]}/_bench/${path}`, mode ? { method: 'POST', body: mode } : {});
  return (await response.json()) as { received: number };
}

/** This process onto core 1, beside the subgraphs and the load generator: core 0 is the gateway's. */
export function pinSelf(): void {
  if (pinned) spawnSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
}

export function stopChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}
