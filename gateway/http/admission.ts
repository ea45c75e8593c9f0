/**
 * Admission control (docs/overload.md): at most `admission.maxInFlight` GraphQL operations run at once —
 * fewer while the event loop lags or operations slow down (./adaptive-limit.ts) — and at most `admission.queue` wait for a slot,
 * each for at most `admission.queueTimeout`, or `admission.standingQueueTimeout` once the queue has stood
 * (../semaphore.ts): first come first served while the queue is at most half full, newest first beyond
 * (adaptive LIFO). Past that the front answers 503 OVERLOADED with `Retry-After` (RFC 9110 §10.2.3,
 * §15.6.4) before any authentication work, body read or subgraph call: under overload every admitted
 * operation keeps its latency and every refused one learns it at once, instead of all of them waiting in
 * an unbounded queue. Health, readiness and the JWKS are answered before admission.
 */
import type { ServerResponse } from 'node:http';
import { sendError } from '@frontdesk/kit/node-http';
import type { GatewayConfig } from '../config/types.ts';
import type { OverloadListener } from '../overload-events.ts';
import { QUEUE_FULL, Semaphore, WAITED_TOO_LONG, type Release } from '../semaphore.ts';
import { AdaptiveLimit, eventLoopDelay, MIN_SAMPLES, WINDOW_MS, type LoopDelay } from './adaptive-limit.ts';

/**
 * Gives the slot back. An operation whose subgraph fetch failed (`subgraphFailed`: a stalled or failing
 * subgraph, its breaker, its concurrency limit) is left out of the latency signal: a subgraph's trouble is
 * the per-subgraph guard's business (docs/overload.md), and counting its seconds-long operations would
 * shrink the bound below the operations it holds and shed the queries that never touch it.
 */
export type AdmissionRelease = (outcome?: { subgraphFailed?: boolean }) => void;

export interface Admission {
  /**
   * A release to call when the operation is done, or undefined when it is not admitted: the queue is full
   * or the wait timed out (answer with `refuse`), or the client left while waiting.
   */
  admit(res: ServerResponse): Promise<AdmissionRelease | undefined>;
  /** Answers 503 OVERLOADED with `Retry-After`. */
  refuse(res: ServerResponse): void;
  /** Operations running and waiting, and the bound in force, for tests and metrics. */
  readonly inFlight: number;
  readonly waiting: number;
  readonly limit: number;
  /** Stops the adaptive bound's monitor. */
  close(): void;
}

export interface AdmissionOptions {
  onEvent?: OverloadListener;
  /** The event-loop delay source, for tests. Default: node:perf_hooks' monitor. */
  loopDelay?: LoopDelay;
}

const QUEUE_TIMEOUT = Symbol('queue timeout');
const CLIENT_GONE = Symbol('client gone');
/** Latencies kept for one decision at most: a median of this many is as good as of more. */
const MAX_SAMPLES = 2_000;

export function createAdmission(config: GatewayConfig['admission'], options: AdmissionOptions = {}): Admission {
  const onEvent = options.onEvent ?? (() => {});
  const newestFirstAbove = Math.floor(config.queue / 2);
  const slots = new Semaphore({
    max: config.maxInFlight,
    maxQueue: config.queue,
    newestFirstAbove,
    // "Fail at Scale"'s controlled delay (docs/overload.md): a queue that has not emptied for a whole
    // queueTimeout is standing, not a burst, and its waiters may wait standingQueueTimeout at most.
    standing: { intervalMs: config.queueTimeoutMs, maxWaitMs: config.standingQueueTimeoutMs },
  });
  const retryAfter = String(Math.max(1, Math.round(config.retryAfterMs / 1000)));

  onEvent({ type: 'admission bound', operations: config.maxInFlight });
  // The adaptive bound: one observation per window; `reached` says an operation found no free slot in it,
  // `ended` holds the latencies of the operations that ended since the last latency decision.
  let reached = false;
  let ended: number[] = [];
  let stopAdapting = () => {};
  const adaptive = config.eventLoopDelayTargetMs > 0 || config.latencyTolerance > 0;
  if (adaptive) {
    const limit = new AdaptiveLimit({ max: config.maxInFlight, targetMs: config.eventLoopDelayTargetMs, latencyTolerance: config.latencyTolerance });
    const loopDelay = options.loopDelay ?? eventLoopDelay();
    const window = setInterval(() => {
      let medianMs: number | undefined;
      if (ended.length >= MIN_SAMPLES) {
        medianMs = ended.sort((a, b) => a - b)[Math.floor(ended.length / 2)];
        ended = [];
      }
      const bound = limit.next(loopDelay.take(), reached, medianMs);
      if (bound !== slots.max) onEvent({ type: 'admission bound', operations: bound });
      slots.max = bound;
      // Below maxInFlight the gateway knows it is overloaded: newest first at any queue length ("Fail at
      // Scale"'s LIFO under overload), so what is admitted is fresh, and the queue counts as standing once
      // it has not emptied for a quarter of queueTimeout instead of the whole of it. LIFO alone serves the
      // oldest waiters whenever arrivals pause for a moment, up to a whole queueTimeout late: in
      // bench:overload those were the 5x load's p99 (0.4-0.9 s against 85-100 ms at capacity). At once
      // (no interval) cut that to 1.4x, but shed 36 of a one-off burst of 100 queries (3x the bound) whose
      // latency the bound had judged an overload; a quarter gave 2.1x and served the whole burst.
      const overloaded = bound < config.maxInFlight;
      slots.newestFirstAbove = overloaded ? 0 : newestFirstAbove;
      slots.standingIntervalMs = overloaded ? config.queueTimeoutMs / 4 : config.queueTimeoutMs;
      // The queue keeps its length in service rounds: `queue` waiters per `maxInFlight` running.
      slots.maxQueue = Math.ceil((config.queue * bound) / config.maxInFlight);
      reached = false;
    }, WINDOW_MS);
    window.unref();
    stopAdapting = () => {
      clearInterval(window);
      loopDelay.stop();
    };
  }
  /** The slot's release, which also records how long the operation held it (for the latency signal). */
  const timed = (release: Release): AdmissionRelease => {
    if (!(config.latencyTolerance > 0)) return () => release();
    const since = performance.now();
    let done = false;
    return (outcome) => {
      if (done) return;
      done = true;
      release();
      if (!outcome?.subgraphFailed && ended.length < MAX_SAMPLES) ended.push(performance.now() - since);
    };
  };

  return {
    async admit(res) {
      const now = slots.tryAcquire();
      if (now) return timed(now);
      reached = true;
      const waiting = new AbortController();
      const timer = setTimeout(() => waiting.abort(QUEUE_TIMEOUT), config.queueTimeoutMs);
      const gone = () => waiting.abort(CLIENT_GONE);
      res.once('close', gone);
      try {
        const slot = await slots.acquire(waiting.signal);
        if (slot === WAITED_TOO_LONG) onEvent({ type: 'shed', reason: 'queue timeout' });
        else if (slot === QUEUE_FULL) onEvent({ type: 'shed', reason: 'queue full' });
        else return timed(slot);
      } catch (reason) {
        if (reason === QUEUE_TIMEOUT) onEvent({ type: 'shed', reason: 'queue timeout' });
      } finally {
        clearTimeout(timer);
        res.off('close', gone);
      }
      return undefined;
    },
    refuse(res) {
      sendError(res, 'OVERLOADED', undefined, { 'retry-after': retryAfter });
    },
    get inFlight() {
      return slots.held;
    },
    get waiting() {
      return slots.waiting;
    },
    get limit() {
      return slots.max;
    },
    close: () => stopAdapting(),
  };
}
