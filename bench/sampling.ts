/**
 * `npm run bench:sampling`: what sampled requests cost the gateway, measured inside one process.
 *
 * The observability bench (`npm run bench:observability`) compares two gateway processes side by side, and
 * each pair of processes carries an offset of its own, a few percent either way; two gateways taking turns
 * on one core also read a cost larger than it is (docs/performance.md "Observability"). Here there is one
 * gateway, with tracing on at ratio 0 exporting OTLP/HTTP protobuf to a receiver in this process, and the
 * load decides what is sampled: every request carries a client `traceparent`, and in each block of load a
 * given share of them has the sampled flag (the parent-based sampler follows the client's decision,
 * docs/production.md "Traces"). Blocks at share 0 alternate with blocks at each share measured, so every
 * sampled block is compared with the unsampled blocks either side of it, in the same process.
 *
 * Per share it prints the gateway's CPU time per request (user + system, /proc), the median over blocks of
 * the difference to the mean of the two neighbouring share-0 blocks, that difference as a ratio, and the
 * spans the receiver got. Results go to bench/results/sampling.json.
 *
 * Environment: BENCH_SAMPLING_SHARES (default 0.1,1), BENCH_SAMPLING_BLOCKS blocks per share (default 5),
 * BENCH_SAMPLING_SECONDS per block (default 6), BENCH_SAMPLING_QUERY (one-fetch or three-fetch, default
 * one-fetch), BENCH_SAMPLING_METRICS=1 (metrics on too, scraped by nothing), BENCH_GATEWAY_NODE_ARGS (node
 * flags for the gateway, space-separated: `--cpu-prof --cpu-prof-dir=/tmp/p`, `--trace-gc`).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countSpans } from '../test/support/otlp.ts';
import { buildGateway, GATEWAY_MAIN } from './built-gateway.ts';
import { cpuSeconds, firstJsonLine, PORTS, pinSelf, QUERIES, setup, spawnNode, stopChildren } from './overload-harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARES = (process.env.BENCH_SAMPLING_SHARES ?? '0.1,1').split(',').map(Number);
const BLOCKS = Number(process.env.BENCH_SAMPLING_BLOCKS ?? 5);
const SECONDS = Number(process.env.BENCH_SAMPLING_SECONDS ?? 6);
const QUERY = process.env.BENCH_SAMPLING_QUERY === 'three-fetch' ? QUERIES.cross : QUERIES.productsOnly;
const CONNECTIONS = 10;
if (SHARES.some((share) => !(share > 0 && share <= 1))) throw new Error(`BENCH_SAMPLING_SHARES: each share in (0, 1], got ${SHARES.join(',')}`);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** The operator's collector: counts the spans of every export and answers 200. */
async function startReceiver(): Promise<{ url: string; spans: () => number }> {
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      spans += countSpans(Buffer.concat(chunks), req.headers['content-type']);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, spans: () => spans };
}

async function main() {
  pinSelf();
  const { tokensFile, gatewayJwks, config } = await setup();
  const receiver = await startReceiver();
  const traced = config.replace(/\.yaml$/, '-traced.yaml');
  writeFileSync(
    traced,
    `${readFileSync(config, 'utf8')}tracing:
  otlp: { endpoint: ${receiver.url} }
  sampler: { ratio: 0 }
${process.env.BENCH_SAMPLING_METRICS === '1' ? 'metrics:\n  listen: { host: 127.0.0.1, port: 0 }\n' : ''}`,
  );
  const subgraphEnv = { BENCH_GATEWAY_ISSUER: 'https://gateway.bench', BENCH_GATEWAY_JWKS: gatewayJwks };
  await Promise.all((['accounts', 'products', 'reviews'] as const).map((name) => firstJsonLine(spawnNode(1, ['bench/subgraph.ts', name], { ...subgraphEnv, PORT: String(PORTS[name]) }), 120_000)));
  buildGateway(ROOT);
  const gateway = spawnNode(0, [...(process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []), GATEWAY_MAIN, '--config', traced]);
  await firstJsonLine(gateway, 120_000);

  const block = async (share: number) => {
    const args = ['bench/load.ts', `http://127.0.0.1:${PORTS.gateway}/graphql`, String(SECONDS), String(CONNECTIONS), JSON.stringify({ query: QUERY }), tokensFile, JSON.stringify({ sampledShare: share })];
    const load = spawnNode(1, args);
    const startedAt = Date.now();
    const before = cpuSeconds(gateway.pid);
    const result = (await firstJsonLine(load, (SECONDS + 60) * 1000)) as { rps: number; requests: number; non2xx: number; errors: number };
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors under load`);
    const cpuUs = ((cpuSeconds(gateway.pid) - before) * 1e6) / result.requests;
    process.stdout.write(`  share ${share}: ${Math.round(result.rps)} req/s, ${cpuUs.toFixed(1)} µs CPU/request, ${receiver.spans()} spans received so far\n`);
    return { share, rps: result.rps, requests: result.requests, cpuUs, startedAt, endedAt: Date.now() };
  };

  // Warm-up, not counted: unsampled load, then each share once (its code compiled before it is measured).
  process.stdout.write(`warm-up\n`);
  for (const share of [0, 0, ...SHARES]) await block(share);
  process.stdout.write(`blocks of ${SECONDS} s, ${CONNECTIONS} connections, alternating with share 0\n`);
  const blocks = [await block(0)];
  for (let i = 0; i < BLOCKS; i++) {
    for (const share of SHARES) {
      blocks.push(await block(share));
      blocks.push(await block(0));
    }
  }

  const results = SHARES.map((share) => {
    const extra = blocks.flatMap((b, i) => {
      if (b.share !== share) return [];
      const neighbours = ((blocks[i - 1]?.cpuUs as number) + (blocks[i + 1]?.cpuUs as number)) / 2;
      return [{ extraUs: b.cpuUs - neighbours, ratio: b.cpuUs / neighbours }];
    });
    return { share, extraUs: +median(extra.map((e) => e.extraUs)).toFixed(1), ratio: +median(extra.map((e) => e.ratio)).toFixed(3), perBlock: extra.map((e) => +e.ratio.toFixed(3)) };
  });
  const unsampledUs = +median(blocks.filter((b) => b.share === 0).map((b) => b.cpuUs)).toFixed(1);
  process.stdout.write(`\nunsampled: ${unsampledUs} µs CPU/request (median of ${blocks.filter((b) => b.share === 0).length} blocks)\n`);
  for (const r of results) {
    process.stdout.write(`share ${r.share}: +${r.extraUs} µs per request, ${r.ratio} × (blocks ${r.perBlock.join(', ')}); per sampled request +${(r.extraUs / r.share).toFixed(1)} µs\n`);
  }
  process.stdout.write(`spans received: ${receiver.spans()}\n`);
  // Stopped as in production (SIGTERM, drain), so that a `--cpu-prof` profile is written.
  await new Promise((resolve) => {
    gateway.once('exit', resolve);
    gateway.kill('SIGTERM');
  });
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const output = { date: new Date().toISOString(), node: process.version, query: QUERY, seconds: SECONDS, metrics: process.env.BENCH_SAMPLING_METRICS === '1', unsampledUs, results, blocks };
  writeFileSync(join(ROOT, 'bench/results/sampling.json'), `${JSON.stringify(output, null, 2)}\n`);
}

try {
  await main();
} finally {
  stopChildren();
}
