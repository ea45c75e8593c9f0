/**
 * A count of concurrent holders with a bounded queue: the admission control (http/admission.ts) and each
 * subgraph's concurrency limit (subgraph/guard.ts) are one of these. The queue is first come, first served
 * while it is short; past `newestFirstAbove` waiters it serves the newest first (adaptive LIFO, as in
 * Facebook's "Fail at Scale", ACM Queue 13(8), 2015): under sustained overload the oldest waiters are the
 * ones about to time out or already given up by their clients, and serving the newest keeps the wait of
 * what is served short while the old ones reach their timeout.
 *
 * A standing queue (RFC 8289 §1: one that does not drain) is cut short, as CoDel does and as "Fail at
 * Scale" applies it to request queues: once the queue has not been empty for `standing.intervalMs`, a
 * waiter that has waited longer than `standing.maxWaitMs` is refused when a slot frees instead of served
 * (WAITED_TOO_LONG), oldest first. A burst still waits up to its queue timeout; an overload that lasts
 * gets the short wait, so what is served is served near its service time.
 *
 * Written here rather than taken from p-limit: p-limit has no bound on its queue and a queued task cannot
 * leave it, while here a waiter whose signal aborts (its client left, its deadline passed, its queue
 * timeout fired) leaves at once and never takes a slot.
 */

/** Given back exactly once when the holder is done; further calls do nothing. */
export type Release = () => void;

/** The queue is full: the caller is refused at once. */
export const QUEUE_FULL = Symbol('queue full');
/** The waiter waited past `standing.maxWaitMs` in a standing queue: refused, never served. */
export const WAITED_TOO_LONG = Symbol('waited too long');

interface Waiter {
  readonly since: number;
  grant(release: Release): void;
  refuse(): void;
}

export interface SemaphoreOptions {
  /** Holders at once. */
  max: number;
  /** Waiters at most (Infinity: no bound). */
  maxQueue: number;
  /** Past this many waiters, the newest is served first. Default: never. */
  newestFirstAbove?: number;
  /** The wait allowed once the queue has stood `intervalMs` without emptying. Default: no such bound. */
  standing?: { intervalMs: number; maxWaitMs: number };
  /** Clock in ms, for tests. Default `performance.now`. */
  now?: () => number;
}

export class Semaphore {
  #max: number;
  #maxQueue: number;
  #newestFirstAbove: number;
  #standing: SemaphoreOptions['standing'];
  readonly #now: () => number;
  #held = 0;
  /** When the queue last went from empty to not empty. */
  #queuedSince = 0;
  /** Oldest first. An array: removing a waiter that left is a scan, and the queue is bounded and short. */
  readonly #queue: Waiter[] = [];

  constructor(options: SemaphoreOptions) {
    if (!(options.max >= 1) || !(options.maxQueue >= 0)) throw new TypeError('Semaphore: max must be ≥ 1 and maxQueue ≥ 0');
    this.#max = options.max;
    this.#maxQueue = options.maxQueue;
    this.#newestFirstAbove = options.newestFirstAbove ?? Number.POSITIVE_INFINITY;
    this.#standing = options.standing;
    this.#now = options.now ?? (() => performance.now());
  }

  get max(): number {
    return this.#max;
  }

  /**
   * Changes the bound on holders (an adaptive limit). Raised, waiters are served at once; lowered, holders
   * beyond it keep their slot until they release it.
   */
  set max(max: number) {
    if (!(max >= 1)) throw new TypeError('Semaphore: max must be ≥ 1');
    this.#max = max;
    while (this.#held < this.#max && this.#queue.length > 0) {
      this.#held++;
      if (!this.#grantNext(this.#releaser())) this.#held--;
    }
  }

  /** Changes the bound on waiters; those already beyond a lowered one stay until served or gone. */
  set maxQueue(waiters: number) {
    this.#maxQueue = waiters;
  }

  /** Past this many waiters the newest is served first; 0: always newest first. */
  set newestFirstAbove(waiters: number) {
    this.#newestFirstAbove = waiters;
  }

  /**
   * How long the queue must stand before its waiters get `standing.maxWaitMs`; 0: they get it now (the
   * admission control sets it while it knows the gateway is overloaded). No effect without `standing`.
   */
  set standingIntervalMs(ms: number) {
    if (this.#standing) this.#standing = { ...this.#standing, intervalMs: ms };
  }

  get held(): number {
    return this.#held;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /** A slot now, or undefined when none is free (never queues). */
  tryAcquire(): Release | undefined {
    if (this.#held >= this.#max || this.#queue.length > 0) return undefined;
    this.#held++;
    return this.#releaser();
  }

  /**
   * A slot, waiting in the queue when none is free. Resolves QUEUE_FULL when the queue is full,
   * WAITED_TOO_LONG when a standing queue refused it; rejects
   * with `signal.reason` when the signal aborts first (the waiter leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<Release | typeof QUEUE_FULL | typeof WAITED_TOO_LONG> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length >= this.#maxQueue) return Promise.resolve(QUEUE_FULL);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#queue.splice(this.#queue.indexOf(waiter), 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        since: this.#now(),
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        refuse: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(WAITED_TOO_LONG);
        },
      };
      if (this.#queue.length === 0) this.#queuedSince = waiter.since;
      this.#queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to a waiter (the count of holders does not change), unless the bound was
      // lowered below the holders.
      if (this.#held > this.#max || !this.#grantNext(this.#releaser())) this.#held--;
    };
  }

  /** Grants `release` to the next waiter to serve, after refusing those that waited too long. */
  #grantNext(release: Release): boolean {
    const now = this.#now();
    if (this.#standing && this.#queue.length > 0 && now - this.#queuedSince >= this.#standing.intervalMs) {
      const tooOld = now - this.#standing.maxWaitMs;
      // Oldest first: the queue is in arrival order.
      while (this.#queue.length > 0 && (this.#queue[0] as Waiter).since < tooOld) (this.#queue.shift() as Waiter).refuse();
    }
    const next = this.#queue.length > this.#newestFirstAbove ? this.#queue.pop() : this.#queue.shift();
    if (!next) return false;
    next.grant(release);
    return true;
  }
}
