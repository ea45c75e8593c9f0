/**
 * The overload bench's health prober, in its own process: `GET /healthz` every INTERVAL_MS for a fixed
 * time, one at a time over a kept-alive connection, as a load balancer or the kubelet would. Prints one JSON
 * line: the count, p50, p99 and max in ms (a probe that fails or takes 5 s counts 5 000).
 *
 * It runs at a raised priority (bench/overload-harness.ts) beside the load generator and the subgraphs:
 * a real prober has a CPU of its own, and a prober starved by the load generator would time its own wait.
 *
 * argv: url seconds
 */
const [url, seconds] = process.argv.slice(2) as [string, string];
const INTERVAL_MS = 20;
const until = performance.now() + Number(seconds) * 1000;
const times: number[] = [];
while (performance.now() < until) {
  const started = performance.now();
  try {
    await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).arrayBuffer();
    times.push(performance.now() - started);
  } catch {
    times.push(5_000);
  }
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
}
times.sort((a, b) => a - b);
const at = (q: number) => +(times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN).toFixed(1);
process.stdout.write(`${JSON.stringify({ probes: times.length, p50: at(0.5), p99: at(0.99), max: +(times.at(-1) ?? NaN).toFixed(1) })}\n`);
