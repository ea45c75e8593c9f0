/**
 * The adaptive bound on operations in flight (docs/overload.md, issue 16). `admission.maxInFlight` is an
 * upper bound, sized for operations that wait on subgraphs; when the gateway's own CPU is what runs out,
 * fewer operations at once are served as fast and each sooner: past the point where the core is busy, every
 * extra operation in flight only adds its share of CPU to the latency of all the others (Little's law), and
 * delays everything else on the event loop — health checks, the metrics listener, timers.
 *
 * The signal is the event loop's delay, the gateway's own queue: how late a timer fires. Every window
 * (WINDOW_MS) the longest delay seen is compared with `admission.eventLoopDelayTarget`:
 * - above it, when the process had the CPU most of the window (BUSY_SHARE), the bound shrinks in proportion (bound × target / delay, at most halved per window), as
 *   the gradient limits named in docs/overload.md do with latency;
 * - at or below it, and only when the bound was reached in that window (an operation had to queue or was
 *   refused), the bound grows by one: an idle gateway does not inflate a bound it never tested.
 * The bound stays between `minOf(maxInFlight)` and `maxInFlight`.
 *
 * Latency of whole operations is deliberately not the signal: it includes the subgraphs' time, and a slow
 * subgraph would shrink the bound for every query, also those that never touch it. Slow subgraphs are the
 * per-subgraph guard's business (../subgraph/guard.ts); this bound protects the gateway's own event loop.
 *
 * Written here rather than taken from a library: the npm packages that shed on event-loop delay
 * (`@fastify/under-pressure`, toobusy-js) refuse everything past a threshold instead of adapting a bound,
 * and the former is a Fastify plugin.
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

export interface AdaptiveLimitOptions {
  /** The upper bound (`admission.maxInFlight`); also the starting bound. */
  max: number;
  /** The event-loop delay to stay under, ms (`admission.eventLoopDelayTarget`). */
  targetMs: number;
}

/** The control rule alone, fed one window at a time: no timer, no clock (the tests drive it). */
export class AdaptiveLimit {
  readonly #max: number;
  readonly #min: number;
  readonly #targetMs: number;
  #limit: number;

  constructor(options: AdaptiveLimitOptions) {
    this.#max = options.max;
    this.#min = minOf(options.max);
    this.#targetMs = options.targetMs;
    this.#limit = options.max;
  }

  get limit(): number {
    return this.#limit;
  }

  /** One window: the loop's longest delay and the CPU used in it, and whether the bound was reached. */
  next({ delayMs, cpu }: LoopWindow, reached: boolean): number {
    if (delayMs > this.#targetMs) {
      // Late without having had the CPU: other processes had it; the bound is not the cause, so it holds.
      if (cpu < BUSY_SHARE) return this.#limit;
      this.#limit = Math.max(this.#min, Math.floor(this.#limit * Math.max(0.5, this.#targetMs / delayMs)));
    } else if (reached) {
      this.#limit = Math.min(this.#max, this.#limit + 1);
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
