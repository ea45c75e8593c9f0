/**
 * `npm run bench:overload`: frontdesk under overload and faults, on loopback, bounded in time — it stops by
 * itself, and a watchdog kills every process after BENCH_OVERLOAD_LIMIT seconds (default 480). The rules
 * are in docs/overload.md; the figures go to docs/performance.md (between the overload markers) and
 * bench/results/overload.json.
 *
 * The gateway (the default config but for auth) has core 0 to itself (taskset), so its admission bound is
 * derived from one core; the three bench subgraphs (bench/subgraph.ts with BENCH_FAULTS=1), the load
 * generator (bench/overload-load.ts), the health prober (bench/overload-probe.ts, at a raised priority) and
 * this process share core 1. Scenarios, in order:
 *   capacity   closed loop, 10 connections, the cross-subgraph query: answered req/s R, p50, p99
 *   2x, 5x     a steady offered rate of 2R and 5R (at most 200 and 500 connections): p50/p99 of answered
 *              requests, share shed, RSS, open sockets, health latency while loaded, recovery time after
 *              the load stops
 *   stall      reviews never answers: a products-only query at R/2 beside the cross query at R/2, against
 *              the same products-only load alone
 *   failing    accounts answers 500: the breaker opens; latency of the cross query, fetches reaching it
 *   slowloris  BENCH_SLOWLORIS sockets (default 3000, fewer if ulimit -n is low) drip header lines: how
 *              many are still open over time, and the latency of normal traffic beside them
 *   disconnect clients that give up 5-30 ms into the cross query, beside normal traffic
 *   dedup      identical concurrent queries of one user: subgraph fetches made against fetches needed
 * BENCH_OVERLOAD_SECONDS (default 8) is the length of each load. BENCH_OVERLOAD_ONLY=<names> (comma-separated:
 * load for 2x and 5x, stall, failing, slowloris, disconnect, dedup) runs capacity and those, and prints them
 * without touching docs/performance.md: for trying a change.
 * BENCH_ADMISSION sets the gateway's `admission:` section (YAML flow), e.g. '{ latencyTolerance: 0 }', and
 * BENCH_SUBGRAPH_DEFAULTS its `subgraphDefaults:`, e.g. '{ queueTimeout: 250ms }'.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  firstJsonLine,
  gatewayProcess,
  LIMIT_SECONDS,
  load,
  OUT,
  pinned,
  pinSelf,
  PORTS,
  QUERIES,
  query,
  quantile,
  recovery,
  round,
  sampled,
  SECONDS,
  setup,
  sleep,
  spawnNode,
  stopChildren,
  subgraph,
} from './overload-harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => process.stderr.write(`  ${line}\n`);

async function main() {
  const started = Date.now();
  pinSelf();
  const { tokens, tokensFile, oneTokenFile, gatewayJwks, config } = await setup();
  const token = tokens[0] as string;
  const subgraphEnv = { BENCH_GATEWAY_ISSUER: 'https://gateway.bench', BENCH_GATEWAY_JWKS: gatewayJwks, BENCH_FAULTS: '1' };
  await Promise.all((['accounts', 'products', 'reviews'] as const).map((name) => firstJsonLine(spawnNode(1, ['bench/subgraph.ts', name], { ...subgraphEnv, PORT: String(PORTS[name]) }), 30_000)));
  const gatewayChild = spawnNode(0, ['gateway/main.ts', '--config', config]);
  await firstJsonLine(gatewayChild, 30_000);
  const pid = gatewayChild.pid as number;
  const gw = gatewayProcess(pid);
  const figures: Record<string, unknown> = { date: new Date().toISOString(), pinned, seconds: SECONDS, loadAverageBefore: loadAverage() };

  // Idle latency, then a warm-up.
  const idle: number[] = [];
  for (let i = 0; i < 30; i++) idle.push((await query(token, QUERIES.cross)).ms);
  const idleP50 = round(quantile(idle, 0.5));
  await load(QUERIES.cross, tokensFile, { seconds: 3, connections: 10 });
  const normalMs = Math.round(Math.max(3 * idleP50, idleP50 + 10));
  figures.idle = { p50Ms: idleP50, normalMs, rssMb: gw.rssMb(), sockets: gw.sockets() };
  log(`idle p50 ${idleP50} ms`);

  // Capacity, then 2x and 5x of it.
  const capacity = await sampled(pid, load(QUERIES.cross, tokensFile, { connections: 10 }));
  const rate = capacity.result.answeredPerSecond;
  figures.capacity = capacity;
  log(`capacity ${rate} req/s, p50 ${capacity.result.p50} ms, p99 ${capacity.result.p99} ms, health p50/p99 ${capacity.health.p50Ms}/${capacity.health.p99Ms} ms`);
  for (const [name, factor, connections] of runs('load') ? ([['2x', 2, 200], ['5x', 5, 500]] as const) : []) {
    const run = await sampled(pid, load(QUERIES.cross, tokensFile, { connections, rate: factor * rate }));
    const recoveredMs = await recovery(token, normalMs);
    const shedShare = round((100 * run.result.shed) / Math.max(1, run.result.sent));
    figures[name] = { ...run, offeredRate: factor * rate, shedPercent: shedShare, p99OverCapacityP99: round((run.result.p99 ?? 0) / (capacity.result.p99 ?? 1)), recoveredMs, socketsAfter: gw.sockets() };
    log(`${name}: answered ${run.result.answeredPerSecond}/s p50 ${run.result.p50} p99 ${run.result.p99} ms, shed ${shedShare}%, health p50/p99 ${run.health.p50Ms}/${run.health.p99Ms} ms (bench process p99 ${run.healthP99Ms}), RSS ${run.maxRssMb} MB, sockets ${run.maxSockets}, recovered in ${recoveredMs} ms`);
  }

  if (runs('stall')) figures.stall = await stall(token, tokensFile, rate, normalMs);
  if (runs('failing')) figures.failing = await failing(token, tokensFile, rate, normalMs);
  if (runs('slowloris')) figures.slowloris = await slowloris(pid, tokensFile, rate);
  if (runs('disconnect')) figures.disconnect = await disconnects(pid, tokens, tokensFile, rate, normalMs);
  if (runs('dedup')) figures.dedup = await dedup(token, oneTokenFile);
  if (ONLY.size > 0) {
    process.stdout.write(`${JSON.stringify({ ...figures, loadAverageAfter: loadAverage() })}\n`);
    return;
  }

  figures.tookSeconds = Math.round((Date.now() - started) / 1000);
  figures.loadAverageAfter = loadAverage();
  mkdirSync(join(OUT, '..'), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(figures, null, 2)}\n`);
  writePerformanceDoc(figures);
  process.stdout.write(`\nresults: ${OUT}; docs/performance.md updated; took ${figures.tookSeconds} s\n`);
}

const ONLY = new Set((process.env.BENCH_OVERLOAD_ONLY ?? '').split(',').filter(Boolean));
const runs = (scenario: string) => ONLY.size === 0 || ONLY.has(scenario);

/** A stalled subgraph: queries that do not touch it, beside queries that do. */
async function stall(token: string, tokensFile: string, rate: number, normalMs: number) {
  const alone = await load(QUERIES.productsOnly, tokensFile, { connections: 50, rate: Math.round(rate / 2) });
  await subgraph('reviews', 'fault', 'stall');
  const [beside, stalledCross] = await Promise.all([
    load(QUERIES.productsOnly, tokensFile, { connections: 50, rate: Math.round(rate / 2) }),
    load(QUERIES.cross, tokensFile, { connections: 100, rate: Math.round(rate / 2) }),
  ]);
  await subgraph('reviews', 'fault', 'ok');
  log(`stall: products-only p50/p99 ${alone.p50}/${alone.p99} ms alone, ${beside.p50}/${beside.p99} ms beside the stall (shed ${beside.shed}); cross p50/p99 ${stalledCross.p50}/${stalledCross.p99}`);
  return { productsOnlyAlone: alone, productsOnlyBesideStall: beside, crossDuringStall: stalledCross, recoveredMs: await recovery(token, normalMs) };
}

/** A failing subgraph: the breaker. */
async function failing(token: string, tokensFile: string, rate: number, normalMs: number) {
  await subgraph('accounts', 'fault', 'fail');
  const before = (await subgraph('accounts', 'count')).received;
  const failed = await load(QUERIES.cross, tokensFile, { connections: 50, rate: Math.round(rate / 2) });
  const reached = (await subgraph('accounts', 'count')).received - before;
  const open: number[] = [];
  let partial = true;
  for (let i = 0; i < 50; i++) {
    const { ms, body } = await query(token, QUERIES.cross);
    open.push(ms);
    partial &&= body.data !== null && body.errors?.some((e) => e.extensions?.code === 'SUBGRAPH_UNAVAILABLE') === true;
  }
  await subgraph('accounts', 'fault', 'ok');
  log(`failing: ${failed.answered} answered (p50 ${failed.p50}, p99 ${failed.p99} ms), ${reached} fetches reached accounts; breaker open p50/p99 ${round(quantile(open, 0.5))}/${round(quantile(open, 0.99))} ms, partial data ${partial}`);
  return { load: failed, fetchesReachingAccounts: reached, breakerOpenP50Ms: round(quantile(open, 0.5)), breakerOpenP99Ms: round(quantile(open, 0.99)), partialData: partial, recoveredMs: await recovery(token, normalMs, 30_000) };
}

/** The 1-minute load average, rounded: how busy the machine was (other processes compete for the cores). */
const loadAverage = () => round(loadavg()[0] as number);

async function slowloris(pid: number, tokensFile: string, rate: number) {
  const limit = Number(execSync('ulimit -n', { shell: '/bin/bash' }).toString().trim()) || 1024;
  const wanted = Number(process.env.BENCH_SLOWLORIS ?? 3000);
  // This process holds one descriptor per socket, the gateway another: keep half the limit for the rest.
  const count = Math.min(wanted, Math.floor(limit / 2) - 200);
  const sockets: Socket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < count; i++) {
    const socket = connect(PORTS.gateway, '127.0.0.1', () => socket.write('POST /graphql HTTP/1.1\r\nHost: gateway\r\n'));
    socket.on('error', () => {});
    socket.once('close', () => closedByServer++);
    sockets.push(socket);
    if (i % 200 === 199) await sleep(20); // connect in waves: the accept queue is finite
  }
  const drip = setInterval(() => {
    for (const socket of sockets) if (socket.writable) socket.write(`x-drip: ${Date.now()}\r\n`);
  }, 2_000);
  const gw = gatewayProcess(pid);
  const openOverTime: Array<{ second: number; stillOpen: number; gatewaySockets: number }> = [];
  const t0 = performance.now();
  const sampler = setInterval(() => openOverTime.push({ second: Math.round((performance.now() - t0) / 1000), stillOpen: count - closedByServer, gatewaySockets: gw.sockets() }), 1_000);
  const beside = await sampled(pid, load(QUERIES.cross, tokensFile, { seconds: 15, connections: 50, rate: Math.round(rate / 2) }), 15);
  clearInterval(sampler);
  clearInterval(drip);
  const stillOpen = count - closedByServer;
  for (const socket of sockets) socket.destroy();
  log(`slowloris: ${count} sockets (ulimit -n ${limit}); open after 15 s: ${stillOpen}; traffic beside: p50 ${beside.result.p50} p99 ${beside.result.p99} ms, shed ${beside.result.shed}`);
  return { sockets: count, ulimit: limit, stillOpenAfter15s: stillOpen, openOverTime, beside };
}

async function disconnects(pid: number, tokens: string[], tokensFile: string, rate: number, normalMs: number) {
  let gaveUp = 0;
  let stop = false;
  const quitters = (async () => {
    for (let i = 0; !stop; i++) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 5 + (i % 26));
      query(tokens[i % tokens.length] as string, QUERIES.cross, controller.signal).catch(() => void gaveUp++);
      await sleep(1_000 / Math.max(1, rate / 2)); // about R/2 quitters a second
    }
  })();
  const beside = await sampled(pid, load(QUERIES.cross, tokensFile, { connections: 50, rate: Math.round(rate / 2) }));
  stop = true;
  await quitters;
  const recoveredMs = await recovery(tokens[0] as string, normalMs);
  await sleep(1_000);
  const socketsAfter = gatewayProcess(pid).sockets();
  log(`disconnect: ${gaveUp} clients gave up; traffic beside p50 ${beside.result.p50} p99 ${beside.result.p99} ms; sockets after ${socketsAfter}; recovered ${recoveredMs} ms`);
  return { clientsThatGaveUp: gaveUp, beside, recoveredMs, socketsAfter };
}

async function dedup(token: string, oneTokenFile: string) {
  const counts = async () => (await Promise.all((['accounts', 'products', 'reviews'] as const).map((name) => subgraph(name, 'count')))).reduce((sum, c) => sum + c.received, 0);
  const before = await counts();
  const burst = await Promise.all(Array.from({ length: 100 }, () => query(token, QUERIES.cross)));
  const burstFetches = (await counts()) - before;
  const ok = burst.every((r) => !r.body.errors);
  // What the ones that were not answered in full got: their error codes, counted.
  const failures: Record<string, number> = {};
  for (const r of burst) {
    const codes = (r.body.errors ?? []).map((e) => String(e.extensions?.code)).join('+');
    if (codes) failures[codes] = (failures[codes] ?? 0) + 1;
  }
  const loadBefore = await counts();
  const sustained = await load(QUERIES.cross, oneTokenFile, { seconds: 5, connections: 20 });
  const sustainedFetches = (await counts()) - loadBefore;
  const needed = 3 * sustained.answered;
  log(`dedup: a burst of 100 identical queries made ${burstFetches} fetches for 300 needed (all answered: ${ok}${ok ? '' : ` — ${JSON.stringify(failures)}`}); 20 connections of one user for 5 s: ${sustainedFetches} fetches for ${needed} needed`);
  return { burst: { requests: 100, fetchesNeeded: 300, fetchesMade: burstFetches, allAnswered: ok, failures }, sustained: { requests: sustained.answered, fetchesNeeded: needed, fetchesMade: sustainedFetches, savedPercent: round((100 * (needed - sustainedFetches)) / Math.max(1, needed)), p50: sustained.p50, p99: sustained.p99 } };
}

/** Replaces the generated block of docs/performance.md. */
function writePerformanceDoc(f: Record<string, any>): void {
  const path = join(ROOT, 'docs/performance.md');
  const doc = readFileSync(path, 'utf8');
  const [startMark, endMark] = ['<!-- overload:start (generated by `npm run bench:overload`) -->', '<!-- overload:end -->'];
  const row = (name: string, r: any, extra: string) =>
    `| ${name} | ${r.result.sent} | ${r.result.answeredPerSecond} | ${r.result.p50} | ${r.result.p99} | ${extra} | ${r.health.p50Ms} / ${r.health.p99Ms} / ${r.health.maxMs} | ${r.maxRssMb} | ${r.maxSockets} |`;
  const lines = [
    startMark,
    `Run ${f.date.slice(0, 10)}, ${f.seconds} s per load, gateway ${f.pinned ? 'pinned to one core' : 'unpinned'}; idle p50 ${f.idle.p50Ms} ms, RSS ${f.idle.rssMb} MB at rest. Took ${f.tookSeconds} s; load average ${f.loadAverageBefore} at the start, ${f.loadAverageAfter} at the end (2 cores).`,
    '',
    '| load (cross-subgraph query) | sent | answered/s | p50 ms | p99 ms | shed | health p50 / p99 / max ms | RSS MB | sockets |',
    '|---|---|---|---|---|---|---|---|---|',
    row('capacity (10 connections)', f.capacity, '0 %'),
    row(`2× (${f['2x'].offeredRate}/s offered, 200 conn.)`, f['2x'], `${f['2x'].shedPercent} %`),
    row(`5× (${f['5x'].offeredRate}/s offered, 500 conn.)`, f['5x'], `${f['5x'].shedPercent} %`),
    '',
    `- p99 of answered requests at 5× capacity: **${f['5x'].p99OverCapacityP99} ×** the p99 at capacity (at 2×: ${f['2x'].p99OverCapacityP99} ×). Per second of the 5× load, answered/s and p99 ms: ${f['5x'].result.perSecond.map((s: any) => `${s.answered}/${s.p99}`).join(', ')}.`,
    `- Health while loaded, from this process every 100 ms as before (its p99 is about its worst of 80 samples): ${['capacity', '2x', '5x'].map((k) => `${k} ${f[k].healthP99Ms} ms`).join(', ')}.`,
    `- Recovery (5 probes in a row within ${f.idle.normalMs} ms, i.e. normal latency) after the load stops: ${f['2x'].recoveredMs} ms after 2×, **${f['5x'].recoveredMs} ms** after 5×; gateway sockets then ${f['5x'].socketsAfter}.`,
    `- A stalled subgraph (reviews never answers): a products-only query at ${Math.round(f.capacity.result.answeredPerSecond / 2)}/s has p50/p99 ${f.stall.productsOnlyAlone.p50}/${f.stall.productsOnlyAlone.p99} ms alone and **${f.stall.productsOnlyBesideStall.p50}/${f.stall.productsOnlyBesideStall.p99} ms** beside the cross query that touches the stalled subgraph (shed: ${f.stall.productsOnlyBesideStall.shed}); the cross query itself answered ${f.stall.crossDuringStall.answered} times with partial data, p50/p99 ${f.stall.crossDuringStall.p50}/${f.stall.crossDuringStall.p99} ms.`,
    `- A failing subgraph (accounts answers 500): ${f.failing.load.answered} cross queries answered in ${f.seconds} s, only **${f.failing.fetchesReachingAccounts}** fetches reached accounts (the breaker's first failures and its probes); with the breaker open the query answers in **p50 ${f.failing.breakerOpenP50Ms} / p99 ${f.failing.breakerOpenP99Ms} ms**, partial data: ${f.failing.partialData}; normal again ${f.failing.recoveredMs} ms after accounts recovered.`,
    `- Slowloris: ${f.slowloris.sockets} sockets dripping header lines${f.slowloris.sockets < 3000 ? ` (fewer than 3 000: ulimit -n is ${f.slowloris.ulimit})` : ''}; still open after 15 s: **${f.slowloris.stillOpenAfter15s}** (per second: ${f.slowloris.openOverTime.map((s: any) => s.stillOpen).join(', ')}); normal traffic beside them p50/p99 ${f.slowloris.beside.result.p50}/${f.slowloris.beside.result.p99} ms, RSS ${f.slowloris.beside.maxRssMb} MB.`,
    `- Clients that disconnect 5-30 ms into the query: ${f.disconnect.clientsThatGaveUp} of them beside normal traffic (p50/p99 ${f.disconnect.beside.result.p50}/${f.disconnect.beside.result.p99} ms); gateway sockets 1 s later: ${f.disconnect.socketsAfter}; normal latency ${f.disconnect.recoveredMs} ms after.`,
    `- Deduplication: a burst of 100 identical queries of one user made **${f.dedup.burst.fetchesMade}** subgraph fetches for ${f.dedup.burst.fetchesNeeded} needed${f.dedup.burst.allAnswered ? ', all answered in full' : ` (not answered in full: ${Object.entries(f.dedup.burst.failures).map(([what, n]) => `${n} × ${what}`).join(', ')}: a burst of 3 × the admission bound right after the disconnect scenario, whose latency the adaptive bound judged an overload)`}; 20 connections of one user for 5 s made ${f.dedup.sustained.fetchesMade} for ${f.dedup.sustained.fetchesNeeded} needed (**${f.dedup.sustained.savedPercent} % saved**).`,
    endMark,
  ];
  const start = doc.indexOf(startMark);
  const end = doc.indexOf(endMark);
  if (start < 0 || end < 0) throw new Error('docs/performance.md has no overload markers');
  writeFileSync(path, `${doc.slice(0, start)}${lines.join('\n')}${doc.slice(end + endMark.length)}`);
}

const watchdog = setTimeout(() => {
  process.stderr.write(`bench:overload: over ${LIMIT_SECONDS} s, stopping\n`);
  stopChildren();
  process.exit(1);
}, LIMIT_SECONDS * 1000);
watchdog.unref();
try {
  await main();
} finally {
  stopChildren();
}
process.exit(0);
