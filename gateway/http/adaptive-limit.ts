/**
 * The adaptive bound on operations in flight (docs/overload.md, issue 16). `admission.maxInFlight` is an
 * upper bound, sized for operations that wait on subgraphs far away. Once whatever serves the operations
 * is saturated — the gateway's core, or the subgraphs — more operations in flight are not served any
 * faster: each one only adds to the latency of all the others (Little's law: in flight = throughput ×
 * latency). The bound follows two signals, every window (WINDOW_MS):
 *
 * - The event loop's delay, the gateway's own queue: how late a timer fires. Later than
 *   `admission.eventLoopDelayTarget` while the process had the CPU most of the window (BUSY_SHARE), the
 *   bound shrinks by target / delay. It is also what a health check waits for.
 * - The operations' latency: the median of those that ended since the last decision (at least
 *   MIN_SAMPLES), against the lowest such median seen — the latency of an operation that queues nowhere,
 *   creeping up by BASELINE_DRIFT per decision so that a lasting change of the workload is learned. Over
 *   `admission.latencyTolerance` times it, the bound shrinks by tolerance × lowest / median. The median of
 *   the operations that END in a window stays with the majority: operations held by one stalled subgraph
 *   end rarely, and the per-subgraph guard (../subgraph/guard.ts) bounds what they hold. This signal
 *   counts only in a window where the bound was reached.
 *
 * Shrinking is in proportion to the worse signal, at most by half per window, never below
 * `minOf(maxInFlight)`. When neither signal is late it grows by one per window: when the bound was
 * reached (an operation found no free slot) only on evidence — with the latency signal on, a window that
 * had a latency decision — and when it was not reached, freely, back toward `maxInFlight`.
 * This is the gradient rule of the concurrency limits named in docs/overload.md, with a floor and a CPU check.
 *
 * Written here rather than taken from a library: the npm packages that shed on event-loop delay
 * (`@fastify/under-pressure`, toobusy-js) refuse everything past a threshold instead of adapting a bound,
 * and the former is a Fastify plugin; no maintained npm package adapts a concurrency bound to latency.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** Length of one observation window, ms: short enough to react to an overload within a few windows. */
export const WINDOW_MS = 100;
/** The event-loop delay monitor's sampling interval, ms (about 10 samples per window). */
const RESOLUTION_MS = 10;

/** The smallest bound the adaptive limit goes down to: a quarter of `maxInFlight`, at least 1. */
export const minOf = (maxInFlight: number): number => Math.max(1, Math.floor(maxInFlight / 4));
/**
 * The CPU the process must have used in a window (a share of one core) for the loop's delay to count.
 * A loop that is late without having had the CPU was kept off it by other processes (a shared machine):
 * admitting fewer operations would not make it any less late, only serve fewer — the bound holds.
 */
export const BUSY_SHARE = 0.8;

/** Operations' latencies needed for a latency decision; fewer carry over to the next window. */
export const MIN_SAMPLES = 5;
/** How much the lowest median may creep up per latency decision (about doubling in 35 s of decisions). */
export const BASELINE_DRIFT = 1.002;

export interface AdaptiveLimitOptions {
  /** The upper bound (`admission.maxInFlight`); also the starting bound. */
  max: number;
  /** The event-loop delay to stay under, ms (`admission.eventLoopDelayTarget`); 0: not a signal. */
  targetMs: number;
  /** The median latency allowed, as a multiple of the lowest median (`admission.latencyTolerance`); 0: not a signal. */
  latencyTolerance: number;
}

/** The control rule alone, fed one window at a time: no timer, no clock (the tests drive it). */
export class AdaptiveLimit {
  readonly #max: number;
  readonly #min: number;
  readonly #targetMs: number;
  readonly #tolerance: number;
  #limit: number;
  #lowestMs = Number.POSITIVE_INFINITY;

  constructor(options: AdaptiveLimitOptions) {
    this.#max = options.max;
    this.#min = minOf(options.max);
    this.#targetMs = options.targetMs;
    this.#tolerance = options.latencyTolerance;
    this.#limit = options.max;
  }

  get limit(): number {
    return this.#limit;
  }

  /**
   * One window: the loop's longest delay and the CPU used in it, whether the bound was reached, and the
   * median latency of the operations that ended (undefined: fewer than MIN_SAMPLES, no latency decision).
   */
  next({ delayMs, cpu }: LoopWindow, reached: boolean, medianMs?: number): number {
    let factor = 1;
    const loopLate = this.#targetMs > 0 && delayMs > this.#targetMs;
    // Late without having had the CPU: other processes had it; the bound is not the cause.
    if (loopLate && cpu >= BUSY_SHARE) factor = this.#targetMs / delayMs;
    let slow = false;
    if (this.#tolerance > 0 && medianMs !== undefined) {
      this.#lowestMs = Math.min(medianMs, this.#lowestMs * BASELINE_DRIFT);
      const allowedMs = this.#tolerance * this.#lowestMs;
      slow = medianMs > allowedMs;
      // Only a bound that was reached made operations queue on each other: below it, the arrivals set
      // how many run at once, and a lower bound would only make them wait.
      if (slow && reached) factor = Math.min(factor, allowedMs / medianMs);
    }
    if (factor < 1) {
      this.#limit = Math.max(this.#min, Math.floor(this.#limit * Math.max(0.5, factor)));
    } else if (!loopLate && !slow) {
      // Reached, it grows by one on evidence only: with the latency signal on, a window that judged
      // latency. Not reached, it is not what limits anyone: it doubles toward max, so that the next burst
      // after an overload does not meet the overload's bound — one at a time, a bound at its floor of 8
      // took 2.4 s back to 32, and a burst of 100 queries 1 s after bench:overload's loads was partly shed.
      const judged = this.#tolerance === 0 || medianMs !== undefined;
      if (!reached) this.#limit = Math.min(this.#max, this.#limit * 2);
      else if (judged) this.#limit = Math.min(this.#max, this.#limit + 1);
    }
    return this.#limit;
  }
}

/** One window: the event loop's longest delay (ms) and the CPU the process used, as a share of one core. */
export interface LoopWindow {
  delayMs: number;
  cpu: number;
}

/** The loop's window since the previous call; `stop` ends the monitor. */
export interface LoopDelay {
  take(): LoopWindow;
  stop(): void;
}

/**
 * node:perf_hooks' event-loop delay monitor (a libuv timer every RESOLUTION_MS, recording how late it
 * fires) and the process's CPU time (`process.cpuUsage`, all its threads).
 */
export function eventLoopDelay(): LoopDelay {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let since = performance.now();
  let usage = process.cpuUsage();
  return {
    take() {
      // The monitor records the whole interval between two firings, resolution included.
      const delayMs = histogram.count > 0 ? histogram.max / 1e6 - RESOLUTION_MS : 0;
      histogram.reset();
      const now = performance.now();
      const used = process.cpuUsage(usage);
      const cpu = (used.user + used.system) / 1000 / Math.max(1, now - since);
      since = now;
      usage = process.cpuUsage();
      return { delayMs: Math.max(0, delayMs), cpu };
    },
    stop: () => histogram.disable(),
  };
}
