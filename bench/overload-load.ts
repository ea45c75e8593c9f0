/**
 * The overload bench's load generator, in its own process: autocannon against the gateway for a fixed
 * time, either closed-loop (`rate` 0: each connection sends as soon as it has its answer) or at a fixed
 * offered rate. Latency percentiles are of the ANSWERED requests only (status 200); sheds (503) and every
 * other outcome are counted apart. Prints one JSON line.
 *
 * argv: url seconds connections rate queryJson tokensFile
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, seconds, connections, rate, queryJson, tokensFile] = process.argv.slice(2) as [string, string, string, string, string, string];
const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as string[];

const answered: number[] = [];
const byStatus: Record<string, number> = {};
let finished!: (result: autocannon.Result) => void;
const done = new Promise<autocannon.Result>((resolve) => (finished = resolve));
const instance = autocannon(
  {
    url,
    duration: Number(seconds),
    connections: Number(connections),
    ...(Number(rate) > 0 ? { overallRate: Number(rate) } : {}),
    timeout: 30,
    requests: tokens.map((token) => ({
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: queryJson,
    })),
  },
  (error, result) => {
    if (error) throw error;
    finished(result);
  },
);
instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
  byStatus[statusCode] = (byStatus[statusCode] ?? 0) + 1;
  if (statusCode === 200) answered.push(responseTime);
});
const result = await done;
answered.sort((a, b) => a - b);
const at = (q: number) => (answered.length ? +(answered[Math.min(answered.length - 1, Math.floor(q * answered.length))] as number).toFixed(1) : null);
const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
process.stdout.write(
  `${JSON.stringify({
    seconds: Number(seconds),
    sent: total + result.errors + result.timeouts,
    answered: answered.length,
    answeredPerSecond: Math.round(answered.length / Number(seconds)),
    shed: byStatus['503'] ?? 0,
    byStatus,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: at(0.5),
    p99: at(0.99),
    max: answered.at(-1) ?? null,
  })}\n`,
);
