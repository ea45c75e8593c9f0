/**
 * The overload bench's load generator, in its own process: POSTs the query to the gateway for a fixed
 * time over an undici pool of at most `connections` kept-alive connections, either closed-loop (`rate` 0:
 * `connections` workers, each sending as soon as it has its answer) or open-loop at a steady offered rate
 * (`rate` requests a second, paced every millisecond, whatever the answers do). Latency percentiles are of
 * the ANSWERED requests only (status 200), timed from the moment each request was handed to the pool;
 * sheds (503) and every other outcome are counted apart. The pool's connections are opened before the
 * clock starts. Requests still open when the time is up are
 * awaited and counted. Prints one JSON line, with the same figures for each second of the run
 * (`perSecond`: how the latency of what is answered moves as an overload begins and lasts).
 *
 * Written here rather than with autocannon, which the other benches use: autocannon's rate is a budget
 * per connection per second, which each connection spends as fast as it can at the start of every second —
 * a burst of hundreds of requests each second followed by silence, not a rate. Each request carries the
 * next of the tokens in turn (one user each), so concurrent requests are of different users and
 * deduplication (docs/overload.md) plays no part.
 *
 * argv: url seconds connections rate queryJson tokensFile
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

const [url, seconds, connections, rate, queryJson, tokensFile] = process.argv.slice(2) as [string, string, string, string, string, string];
const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as string[];
const target = new URL(url);
const pool = new Pool(target.origin, { connections: Number(connections), pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });

const answered: number[] = [];
/** The answered requests' latencies by the second of the run they came back in. */
const bySecond: number[][] = [];
const byStatus: Record<string, number> = {};
let sent = 0;
let errors = 0;
let timeouts = 0;
// The clients are connected before the clock starts: `connections` health checks at once open the pool's
// connections, so a load measures the gateway under that load, not an accept storm of new connections
// (each phase is a new process with an empty pool; capacity is warmed the same way).
await Promise.all(Array.from({ length: Number(connections) }, async () => (await pool.request({ path: '/healthz', method: 'GET' })).body.dump()));
const started = performance.now();
const endsAt = started + Number(seconds) * 1000;

async function send(): Promise<void> {
  const token = tokens[sent++ % tokens.length] as string;
  const sentAt = performance.now();
  try {
    const response = await pool.request({
      path: target.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: queryJson,
    });
    await response.body.dump();
    byStatus[response.statusCode] = (byStatus[response.statusCode] ?? 0) + 1;
    if (response.statusCode !== 200) return;
    const ms = performance.now() - sentAt;
    answered.push(ms);
    (bySecond[Math.floor((performance.now() - started) / 1000)] ??= []).push(ms);
  } catch (error) {
    if ((error as { code?: string }).code?.includes('TIMEOUT')) timeouts++;
    else errors++;
  }
}

if (Number(rate) > 0) {
  const open = new Set<Promise<void>>();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const due = Math.floor(((Math.min(now, endsAt) - started) / 1000) * Number(rate));
      while (sent < due) {
        const request = send();
        open.add(request);
        void request.finally(() => open.delete(request));
      }
      if (now >= endsAt) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(open);
} else {
  await Promise.all(
    Array.from({ length: Number(connections) }, async () => {
      while (performance.now() < endsAt) await send();
    }),
  );
}
await pool.close();

const quantileOf = (sorted: number[], q: number) => (sorted.length ? +(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(1) : null);
answered.sort((a, b) => a - b);
const perSecond = Array.from(bySecond, (list = []) => {
  list.sort((a, b) => a - b);
  return { answered: list.length, p50: quantileOf(list, 0.5), p99: quantileOf(list, 0.99) };
});
process.stdout.write(
  `${JSON.stringify({
    seconds: Number(seconds),
    sent,
    answered: answered.length,
    answeredPerSecond: Math.round(answered.length / Number(seconds)),
    shed: byStatus['503'] ?? 0,
    byStatus,
    errors,
    timeouts,
    p50: quantileOf(answered, 0.5),
    p99: quantileOf(answered, 0.99),
    max: answered.at(-1) ?? null,
    perSecond,
  })}\n`,
);
