/**
 * The load generator, in its own process: autocannon against one gateway for one query. The requests are
 * built once, one per token of the pool, and cycled (a per-request setupRequest costs the shared core
 * more than the subgraphs do). Prints one JSON line with requests/s and latency percentiles.
 */
import autocannon from 'autocannon';

const [url, durationSeconds, connections, queryJson, tokensJson] = process.argv.slice(2) as [string, string, string, string, string];
const tokens = JSON.parse(tokensJson) as string[];

const result = await autocannon({
  url,
  duration: Number(durationSeconds),
  connections: Number(connections),
  requests: tokens.map((token) => ({
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
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
  })}\n`,
);
