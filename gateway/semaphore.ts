/**
 * A count of concurrent holders with a bounded first-come-first-served queue: the admission control
 * (http/admission.ts) and each subgraph's concurrency limit (subgraph/guard.ts) are one of these.
 *
 * Written here rather than taken from p-limit: p-limit has no bound on its queue and a queued task cannot
 * leave it, while here a waiter whose signal aborts (its client left, its deadline passed, its queue
 * timeout fired) leaves at once and never takes a slot.
 */

/** Given back exactly once when the holder is done; further calls do nothing. */
export type Release = () => void;

/** The queue is full: the caller is refused at once. */
export const QUEUE_FULL = Symbol('queue full');

interface Waiter {
  grant(release: Release): void;
}

export class Semaphore {
  readonly #max: number;
  readonly #maxQueue: number;
  #held = 0;
  readonly #queue = new Set<Waiter>(); // insertion-ordered: first come, first served

  /** `max` holders at once; at most `maxQueue` waiting (Infinity: no bound). */
  constructor(max: number, maxQueue: number) {
    if (!(max >= 1) || !(maxQueue >= 0)) throw new TypeError('Semaphore: max must be ≥ 1 and maxQueue ≥ 0');
    this.#max = max;
    this.#maxQueue = maxQueue;
  }

  get held(): number {
    return this.#held;
  }

  get waiting(): number {
    return this.#queue.size;
  }

  /** A slot now, or undefined when none is free (never queues). */
  tryAcquire(): Release | undefined {
    if (this.#held >= this.#max || this.#queue.size > 0) return undefined;
    this.#held++;
    return this.#releaser();
  }

  /**
   * A slot, waiting in the queue when none is free. Resolves QUEUE_FULL when the queue is full; rejects
   * with `signal.reason` when the signal aborts first (the waiter leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<Release | typeof QUEUE_FULL> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.size >= this.#maxQueue) return Promise.resolve(QUEUE_FULL);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#queue.delete(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      this.#queue.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.values().next();
      if (next.done) {
        this.#held--;
        return;
      }
      // The slot passes straight to the first waiter: the count of holders does not change.
      this.#queue.delete(next.value);
      next.value.grant(this.#releaser());
    };
  }
}
