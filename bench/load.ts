/**
 * The load generator, in its own process: autocannon against one gateway for one query. The requests are
 * built once, one per token of the pool, and cycled (a per-request setupRequest costs the shared core
 * more than the subgraphs do). Prints one JSON line with requests/s and latency percentiles.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, durationSeconds, connections, queryJson, tokensFile, optionsJson] = process.argv.slice(2) as [string, string, string, string, string, string | undefined];
/**
 * How each credential travels (default: `authorization: Bearer <token>`): another header and prefix (an
 * API key in `x-api-key`), an empty file for no credential, and TLS files for an https URL (client certificate).
 * `startAt` (ms since the epoch): when to begin. `sampledShare` (0 to 1, bench/sampling.ts): every request carries
 * a client `traceparent` of its own, and that share of them the sampled flag, spread evenly over the cycle.
 */
const options = JSON.parse(optionsJson ?? '{}') as { header?: string; prefix?: string; tls?: { ca: string; cert: string; key: string }; startAt?: number; sampledShare?: number };
const header = options.header ?? 'authorization';
const prefix = options.prefix ?? 'Bearer ';
// A file, not an argument: 10 000 tokens are megabytes, and one argv string is limited to 128 KiB.
const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as string[];

// Two loads meant to run side by side start at the same moment, whenever their processes came up.
const { startAt } = options;
if (startAt !== undefined) await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
const lateMs = startAt === undefined ? 0 : Date.now() - startAt;

/** W3C trace context, version 00 (https://www.w3.org/TR/trace-context/#traceparent-header): request i of the cycle is sampled when i·share crosses an integer. */
function traceparent(i: number): Record<string, string> {
  const share = options.sampledShare;
  if (share === undefined) return {};
  const flags = Math.floor((i + 1) * share) > Math.floor(i * share) ? '01' : '00';
  return { traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-${flags}` };
}

const result = await autocannon({
  url,
  ...(options.tls ? { tlsOptions: { ca: readFileSync(options.tls.ca), cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) } } : {}),
  duration: Number(durationSeconds),
  connections: Number(connections),
  requests: (tokens.length > 0 ? tokens : ['']).map((token, i) => ({
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', ...(token ? { [header]: `${prefix}${token}` } : {}), ...traceparent(i) },
    body: queryJson,
  })),
});
process.stdout.write(
  `${JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    lateMs,
  })}\n`,
);
