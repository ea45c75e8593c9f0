/**
 * The load generator, in its own process: autocannon against one gateway for one query, each request
 * carrying the next token of the pool. Prints one JSON line with requests/s and latency percentiles.
 */
import autocannon from 'autocannon';

const [url, durationSeconds, connections, queryJson, tokensJson] = process.argv.slice(2) as [string, string, string, string, string];
const tokens = JSON.parse(tokensJson) as string[];
const body = queryJson;
let next = 0;

const result = await autocannon({
  url,
  method: 'POST',
  duration: Number(durationSeconds),
  connections: Number(connections),
  headers: { 'content-type': 'application/json' },
  body,
  requests: [
    {
      setupRequest: (request) => {
        const token = tokens[next++ % tokens.length];
        return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
      },
    },
  ],
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
