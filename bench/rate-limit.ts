/**
 * `npm run bench:ratelimit`: what rate limiting on Redis costs (docs/performance.md "Rate limiting").
 * Two frontdesk gateways with the same config, side by side in one run — **plain** (no `rateLimit`) and
 * **limited** (`store.redis` and a rule every bench user matches, with a budget the load never spends,
 * plus the failed-authentication throttle) — on the same three bench subgraphs and one redis-server
 * started the way the tests start theirs (test/support/redis.ts). Both gateways get core 0 (taskset);
 * subgraphs and the load generator share core 1, Redis is on core 0 (BENCH_REDIS_CORE, below). Rounds alternate A B, B A after a warm-up; the
 * table shows medians and limited/plain ratios, the load average, and Redis round trips per request:
 * INFO commandstats before and after each limited load, divided by the requests answered.
 *
 * Its own ports (4301-4312), so it can run beside `npm run bench` and `bench:overload`. Environment:
 * BENCH_ROUNDS (default 5), BENCH_DURATION seconds per round (default 5), BENCH_CONNECTIONS (default 10).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { TSX_NODE_ARGS } from '../dev/node-args.ts';
import { startRedis } from '../test/support/redis.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const OUT = join(ROOT, 'bench/results/rate-limit.json');
const PORTS = { accounts: 4301, products: 4302, reviews: 4303, plain: 4311, limited: 4312 } as const;
const QUERIES = {
  'single-subgraph': '{ topProducts(first: 5) { upc name price inStock } }',
  'cross-subgraph': '{ topProducts(first: 5) { name price reviews { rating body author { username } } } }',
} as const;
const VARIANTS = ['plain', 'limited'] as const;
type Variant = (typeof VARIANTS)[number];

/**
 * Redis's core. Default 0, beside the gateways: its CPU is then charged to the limited gateway (a
 * pessimistic figure), and it is woken at once; on core 1 it queues behind the busy subgraphs and the load
 * generator, which a Redis of its own in production never does. BENCH_REDIS_CORE=1 shows that case.
 */
const REDIS_CORE = Number(process.env.BENCH_REDIS_CORE ?? 0);
const pinned = process.env.BENCH_PIN !== '0' && cpus().length >= 2 && existsSync('/usr/bin/taskset');
const children: ChildProcess[] = [];

function spawnPinned(core: number, args: string[], env: Record<string, string> = {}): ChildProcess {
  const node = [process.execPath, ...TSX_NODE_ARGS, ...args];
  const [command, ...rest] = pinned ? ['taskset', '-c', String(core), ...node] : node;
  const child = spawn(command as string, rest, { cwd: ROOT, env: { ...process.env, ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

function firstJsonLine(child: ChildProcess, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs} ms: ${err.slice(-1000)}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.ready || parsed.msg === 'gateway listening' || 'rps' in parsed) {
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

async function setup(redisUrl: string) {
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-ratelimit-'));
  const idp = await generateKeyPair('ES256', { extractable: true });
  const idpJwks = join(dir, 'idp-jwks.json');
  writeFileSync(idpJwks, JSON.stringify({ keys: [{ ...(await exportJWK(idp.publicKey)), kid: 'bench-idp', alg: 'ES256', use: 'sig' }] }));
  const tokens = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      new SignJWT({ scope: 'products:read', roles: ['customer'] })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench-idp', typ: 'at+jwt' })
        .setIssuer('https://idp.bench')
        .setAudience('shop-api')
        .setSubject(`u${i}`)
        .setIssuedAt()
        .setExpirationTime('2h')
        .setJti(randomUUID())
        .sign(idp.privateKey),
    ),
  );
  const tokensFile = join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify(tokens));
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
  const common = `supergraph: ${supergraph}
logLevel: warn
auth:
  anonymous: false
  jwt: [{ issuer: https://idp.bench, jwks: ${idpJwks}, audience: [shop-api], algorithms: [ES256], typ: at+jwt }]
identity: { issuer: https://gateway.bench, keys: [{ file: ${join(dir, 'identity-key.json')} }] }
`;
  const configs = { plain: join(dir, 'plain.yaml'), limited: join(dir, 'limited.yaml') };
  writeFileSync(configs.plain, `listen: { host: 127.0.0.1, port: ${PORTS.plain} }\n${common}`);
  writeFileSync(
    configs.limited,
    `listen: { host: 127.0.0.1, port: ${PORTS.limited} }
${common}store: { redis: { url: ${redisUrl}, keyPrefix: 'bench:' } }
rateLimit:
  rules: [{ name: customers, match: { roles: [customer] }, budget: 1000000000, window: 1m }]
  failedAuth: { perAddress: 30, perApiKey: 10 }
`,
  );
  return { tokens, tokensFile, gatewayJwks, configs };
}

type Result = { rps: number; p50: number; p99: number; requests: number; non2xx: number };

async function load(variant: Variant, query: string, tokensFile: string, seconds: number): Promise<Result> {
  const url = `http://127.0.0.1:${PORTS[variant]}/graphql`;
  const child = spawnPinned(1, ['bench/load.ts', url, String(seconds), String(CONNECTIONS), JSON.stringify({ query }), tokensFile]);
  const result = (await firstJsonLine(child, (seconds + 30) * 1000)) as Result & { errors: number };
  // A non-2xx from the limited gateway is a spend Redis did not answer within store.redis.timeout (503,
  // storeUnavailable: closed): counted and shown, not fatal. The plain gateway must answer everything.
  if (result.errors > 0 || (variant === 'plain' && result.non2xx > 0)) throw new Error(`${variant}: ${result.non2xx} non-2xx and ${result.errors} errors under load`);
  return result;
}

/** What the rate limit's Lua script runs inside its one EVALSHA: counted by Redis, but no round trip of their own. */
const IN_SCRIPT = new Set(['set', 'incrby', 'pttl', 'expire']);

/** Commands Redis has run, by command (INFO commandstats), leaving out INFO itself. */
async function commandStats(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const [, name, count] of info.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)) if (name !== 'info') calls[name as string] = Number(count);
  return calls;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function main() {
  const started = Date.now();
  const redisServer = await startRedis();
  // redis-server names itself by its address; pin it to REDIS_CORE.
  if (pinned) {
    const pid = spawnSync('pgrep', ['-f', `redis-server 127.0.0.1:${redisServer.port}`], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    if (pid) spawnSync('taskset', ['-pc', String(REDIS_CORE), pid], { stdio: 'ignore' });
  }
  try {
    const { tokens, tokensFile, gatewayJwks, configs } = await setup(redisServer.url);
    const subgraphEnv = { BENCH_GATEWAY_ISSUER: 'https://gateway.bench', BENCH_GATEWAY_JWKS: gatewayJwks };
    await Promise.all((['accounts', 'products', 'reviews'] as const).map((name) => firstJsonLine(spawnPinned(1, ['bench/subgraph.ts', name], { ...subgraphEnv, PORT: String(PORTS[name]) }))));
    await Promise.all(VARIANTS.map((variant) => firstJsonLine(spawnPinned(0, ['gateway/main.ts', '--config', configs[variant]]))));
    const redis = new Redis(redisServer.url);

    // Same answer from both, and the limited one shows its budget.
    for (const query of Object.values(QUERIES)) {
      const answers = await Promise.all(
        VARIANTS.map(async (variant) => {
          const response = await fetch(`http://127.0.0.1:${PORTS[variant]}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` }, body: JSON.stringify({ query }) });
          return { text: await response.text(), limit: response.headers.get('ratelimit') };
        }),
      );
      if (answers[0]?.text !== answers[1]?.text || answers[0]?.text.includes('"errors"')) throw new Error(`gateways disagree on ${query}`);
      if (answers[0]?.limit !== null || !answers[1]?.limit) throw new Error(`RateLimit fields: plain ${answers[0]?.limit}, limited ${answers[1]?.limit}`);
    }

    const loadAverage: number[][] = [loadavg()];
    const results: Record<string, Record<Variant, Result[]>> = {};
    const roundTrips: Record<string, Array<{ requests: number; commands: Record<string, number> }>> = {};
    for (const [name, query] of Object.entries(QUERIES)) {
      results[name] = { plain: [], limited: [] };
      roundTrips[name] = [];
      for (const variant of VARIANTS) await load(variant, query, tokensFile, 2); // warm-up
      for (let round = 0; round < ROUNDS; round++) {
        for (const variant of round % 2 === 0 ? VARIANTS : ([...VARIANTS].reverse() as Variant[])) {
          const before = variant === 'limited' ? await commandStats(redis) : undefined;
          const result = await load(variant, query, tokensFile, DURATION);
          results[name][variant].push(result);
          if (before) {
            const after = await commandStats(redis);
            roundTrips[name].push({ requests: result.requests, commands: Object.fromEntries(Object.entries(after).map(([command, calls]) => [command, calls - (before[command] ?? 0)]).filter(([, calls]) => (calls as number) > 0)) });
          }
          process.stderr.write(`  ${name} round ${round + 1} ${variant}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms${result.non2xx ? `, ${result.non2xx} non-2xx` : ''}\n`);
        }
        loadAverage.push(loadavg());
      }
    }
    await redis.quit();

    const table = Object.entries(results).map(([query, byVariant]) => {
      const summary = (variant: Variant) => ({ rps: Math.round(median(byVariant[variant].map((r) => r.rps))), p50: median(byVariant[variant].map((r) => r.p50)), p99: median(byVariant[variant].map((r) => r.p99)) });
      const plain = summary('plain');
      const limited = summary('limited');
      // Each round's limited/plain pair ran back to back: the median of those ratios is steadier than the ratio of medians on a shared machine.
      const paired = byVariant.limited.map((limitedRun, i) => limitedRun.rps / (byVariant.plain[i] as Result).rps);
      const trips = roundTrips[query] ?? [];
      const requests = trips.reduce((sum, trip) => sum + trip.requests, 0);
      const commands: Record<string, number> = {};
      for (const trip of trips) for (const [command, calls] of Object.entries(trip.commands)) commands[command] = (commands[command] ?? 0) + calls;
      const sent = Object.entries(commands).filter(([command]) => !IN_SCRIPT.has(command)).reduce((sum, [, calls]) => sum + calls, 0);
      return {
        query,
        plain,
        limited,
        ratio: { rps: +(limited.rps / plain.rps).toFixed(3), p50: +(limited.p50 / plain.p50).toFixed(3), p99: +(limited.p99 / plain.p99).toFixed(3) },
        pairedRpsRatio: { median: +median(paired).toFixed(3), rounds: paired.map((r) => +r.toFixed(3)) },
        redis: { requests, commands, roundTripsPerRequest: +(sent / requests).toFixed(3) },
        limitedNon2xx: byVariant.limited.reduce((sum, r) => sum + r.non2xx, 0),
      };
    });
    const line = (cells: string[]) => `${cells.map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(12))).join(' ')}\n`;
    process.stdout.write(`\nrate limiting on Redis vs none — medians of ${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections${pinned ? `, gateways pinned to core 0, Redis to core ${REDIS_CORE}` : ''}\n\n`);
    process.stdout.write(line(['query', 'gateway', 'req/s', 'p50 ms', 'p99 ms', 'redis rt/req']));
    for (const row of table) {
      process.stdout.write(line([row.query, 'plain', String(row.plain.rps), String(row.plain.p50), String(row.plain.p99), '']));
      process.stdout.write(line(['', 'limited', String(row.limited.rps), String(row.limited.p50), String(row.limited.p99), String(row.redis.roundTripsPerRequest)]));
      process.stdout.write(line(['', 'ratio', `${row.ratio.rps}x`, `${row.ratio.p50}x`, `${row.ratio.p99}x`, '']));
      process.stdout.write(`${''.padEnd(17)}paired req/s ratio, median ${row.pairedRpsRatio.median}x of rounds ${row.pairedRpsRatio.rounds.join(' ')}; Redis commands ${JSON.stringify(row.redis.commands)}; limited non-2xx (503: Redis over its timeout) ${row.limitedNon2xx}\n`);
    }
    const fmt = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ');
    process.stdout.write(`\nload average (1/5/15 min): start ${fmt(loadAverage[0] as number[])}, end ${fmt(loadAverage.at(-1) as number[])}; took ${Math.round((Date.now() - started) / 1000)} s\n`);
    mkdirSync(join(OUT, '..'), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify({ date: new Date().toISOString(), redisCore: REDIS_CORE, rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS, pinned, cores: cpus().length, loadAverage, table, raw: results, roundTrips }, null, 2)}\n`);
    process.stdout.write(`results: ${OUT}\n`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await redisServer.stop();
  }
}

await main();
