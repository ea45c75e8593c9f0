/**
 * A circuit breaker for one subgraph (docs/overload.md): after `failures` consecutive failed fetches it
 * opens, and every fetch fails at once — no socket, no wait, no identity token minted — for `coolDownMs`.
 * Then it is half-open: one probe fetch goes through while the others still fail fast; the probe's success
 * closes it, its failure opens it for another cool-down.
 *
 * Written here rather than taken from opossum: opossum 10 needs Node 22+, and its rule is an error
 * percentage over a rolling window (with a volume threshold and interval timers per breaker), not the
 * consecutive-failure count this gateway documents. The state machine is below; time is injectable.
 */
import type { BreakerState } from '../overload-events.ts';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker; 0: never opens. */
  failures: number;
  /** How long it stays open before letting one probe through. */
  coolDownMs: number;
  /** Called on every change of state. */
  onStateChange: (state: BreakerState) => void;
  now?: () => number;
}

/** The right to make one fetch; report its outcome exactly once. */
export interface BreakerPass {
  succeeded(): void;
  failed(): void;
  /** The fetch was not made to completion for reasons of the caller's (it left, its deadline passed). */
  abandoned(): void;
  /**
   * False once the breaker has left the state this pass was given in for any state but closed: a fetch
   * that waited for a concurrency slot meanwhile must not go to a subgraph the breaker now holds down.
   */
  readonly current: boolean;
}

export class CircuitBreaker {
  readonly #options: BreakerOptions;
  readonly #now: () => number;
  #state: BreakerState = 'closed';
  #consecutiveFailures = 0;
  #openedAt = 0;
  #probing = false;
  /** Outcomes of fetches let through before the last change of state are ignored. */
  #generation = 0;

  constructor(options: BreakerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** A pass for one fetch, or undefined when the breaker is open (or half-open with its probe out). */
  tryPass(): BreakerPass | undefined {
    if (this.#state === 'open') {
      if (this.#now() - this.#openedAt < this.#options.coolDownMs) return undefined;
      this.#moveTo('half-open');
    }
    if (this.#state === 'half-open') {
      if (this.#probing) return undefined;
      this.#probing = true;
    }
    return this.#pass(this.#generation);
  }

  #pass(generation: number): BreakerPass {
    let reported = false;
    const report = (outcome: 'succeeded' | 'failed' | 'abandoned') => {
      if (reported) return;
      reported = true;
      if (generation === this.#generation) this.#record(outcome);
    };
    const breaker = this;
    return {
      succeeded: () => report('succeeded'),
      failed: () => report('failed'),
      abandoned: () => report('abandoned'),
      get current() {
        return generation === breaker.#generation || breaker.#state === 'closed';
      },
    };
  }

  #record(outcome: 'succeeded' | 'failed' | 'abandoned'): void {
    if (this.#state === 'half-open') {
      this.#probing = false;
      if (outcome === 'succeeded') this.#moveTo('closed');
      else if (outcome === 'failed') this.#open();
      return; // abandoned: the next fetch probes
    }
    if (outcome === 'succeeded') this.#consecutiveFailures = 0;
    else if (outcome === 'failed') {
      this.#consecutiveFailures++;
      if (this.#options.failures > 0 && this.#consecutiveFailures >= this.#options.failures) this.#open();
    }
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#moveTo('open');
  }

  #moveTo(state: BreakerState): void {
    this.#state = state;
    this.#generation++;
    this.#consecutiveFailures = 0;
    this.#probing = false;
    this.#options.onStateChange(state);
  }
}
