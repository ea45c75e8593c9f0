/**
 * Everything that stands between an operation and one subgraph (docs/overload.md), in this order:
 * deduplication of identical query fetches in flight (sharing.ts), the circuit breaker (breaker.ts), the
 * concurrency limit (`subgraphDefaults.concurrency`, waiting in line at most `subgraphDefaults.queueTimeout`:
 * a subgraph that stalls holds a bounded share of the admitted operations, not all of them), and the
 * fetch's own time limit: the subgraph timeout, cut short by the operation's signal (its deadline, or its
 * client leaving), so a fetch never outlives the request it serves. The datasource (../datasource.ts)
 * hands it the send itself — identity minting included, so an open breaker costs no signature.
 *
 * Guards live as long as the gateway, one per subgraph name, across supergraph reloads.
 */
import type { GatewayConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { OverloadListener } from '../overload-events.ts';
import { Semaphore, type Release } from '../semaphore.ts';
import { CircuitBreaker } from './breaker.ts';
import { deadlineSignal, SUBGRAPH_TIMEOUT } from './deadline-signal.ts';
import { FetchSharing } from './sharing.ts';

/** A subgraph's raw answer: what a shared fetch hands each of its waiters. */
export interface SubgraphAnswer {
  statusCode: number;
  text: string;
}

export interface GuardedCall {
  timeoutMs: number;
  /** The operation's signal (GatewayContext.signal); absent for the gateway's own calls. */
  signal: AbortSignal | undefined;
  /** Set when identical fetches in flight may share this one (sharing.ts `sharingKey`). */
  sharingKey: string | undefined;
}

/** Why no answer came: the breaker is open, the subgraph timed out or failed, or the operation ended. */
export class SubgraphFetchFailed extends Error {
  readonly reason: 'circuit open' | 'busy' | 'timeout' | 'failed' | 'operation ended';
  constructor(reason: SubgraphFetchFailed['reason'], options?: { cause?: unknown }) {
    super(`subgraph fetch: ${reason}`, options);
    this.name = 'SubgraphFetchFailed';
    this.reason = reason;
  }
  /** Expected under overload and not the subgraph's news: logged at debug, not warn, to keep logs small. */
  get quiet(): boolean {
    return this.reason === 'circuit open' || this.reason === 'busy' || this.reason === 'operation ended';
  }
}

const CIRCUIT_OPENED = new Error('circuit breaker opened');

export interface GuardOptions {
  /** Fetches in flight at most, and how long one waits for a slot. */
  concurrency: number;
  queueTimeoutMs: number;
  /** The breaker: consecutive failures that open it (0: never), and its cool-down. */
  failures: number;
  coolDownMs: number;
  dedup: boolean;
  log: Logger;
  onEvent: OverloadListener;
  now?: () => number;
}

export class SubgraphGuard {
  readonly #name: string;
  readonly #limit: Semaphore;
  readonly #breaker: CircuitBreaker;
  readonly #sharing = new FetchSharing<SubgraphAnswer>();
  readonly #dedup: boolean;
  readonly #queueTimeoutMs: number;
  readonly #onEvent: OverloadListener;
  readonly #now: () => number;
  /** When a fetch last came back (answer or error): a stalled subgraph makes no progress at all. */
  #lastProgressAt: number;
  /** How to cut each fetch in flight: when the breaker opens, none of them may hold its operation longer. */
  readonly #inFlight = new Set<(reason: unknown) => void>();

  constructor(name: string, options: GuardOptions) {
    this.#name = name;
    this.#queueTimeoutMs = options.queueTimeoutMs;
    this.#now = options.now ?? Date.now;
    this.#lastProgressAt = this.#now();
    this.#limit = new Semaphore({ max: options.concurrency, maxQueue: Number.POSITIVE_INFINITY });
    this.#dedup = options.dedup;
    this.#onEvent = options.onEvent;
    this.#breaker = new CircuitBreaker({
      failures: options.failures,
      coolDownMs: options.coolDownMs,
      now: options.now,
      onStateChange: (state) => {
        const fields = { subgraph: name, state };
        if (state === 'open') options.log.warn('subgraph circuit breaker open: its fetches fail fast', { ...fields, coolDownMs: options.coolDownMs });
        else options.log.info(state === 'closed' ? 'subgraph circuit breaker closed' : 'subgraph circuit breaker half-open: one probe', fields);
        options.onEvent({ type: 'breaker', subgraph: name, state });
        // The breaker holds the subgraph down: the fetches still in flight to it are cut now, not at the
        // subgraph timeout. After a stall every one of them would otherwise hold its operation — and its
        // admission slot — for the whole timeout, beside the queries that never touch this subgraph
        // (docs/overload.md, bench:overload's stall scenario).
        if (state === 'open') for (const cut of this.#inFlight) cut(CIRCUIT_OPENED);
      },
    });
  }

  /** Changes the limit of fetches in flight; those beyond a lowered one finish as they are. */
  set concurrency(limit: number) {
    this.#limit.max = limit;
  }

  get breakerState() {
    return this.#breaker.state;
  }

  /** Fetches waiting for a concurrency slot, and holding one. */
  get waiting(): number {
    return this.#limit.waiting;
  }

  get inFlight(): number {
    return this.#limit.held;
  }

  /** The subgraph's answer to `send`, or a SubgraphFetchFailed. */
  fetch(call: GuardedCall, send: (signal: AbortSignal) => Promise<SubgraphAnswer>): Promise<SubgraphAnswer> {
    const guarded = (signal: AbortSignal | undefined) => this.#guarded(signal, call.timeoutMs, send);
    // Only a healthy subgraph's fetches are joined: joining one in flight skips the breaker and the limit,
    // and with the breaker open or probing that fetch is likely stalled — the joiner would hold its
    // admission slot for a whole subgraph timeout instead of failing fast (found by bench:overload).
    if (!this.#dedup || call.sharingKey === undefined || this.#breaker.state !== 'closed') return guarded(call.signal);
    return this.#shared(call.sharingKey, call.signal, guarded);
  }

  /**
   * A joiner waits for the shared answer at most `queueTimeout`, as long as it would have waited for a
   * slot, then makes its own fetch through the breaker and the limit: joiners take no slot, so without
   * this bound the joiners of a stalled fetch would hold their admission slots for a whole subgraph
   * timeout (bench:overload's stall scenario). Sharing therefore saves the fetches that answer within
   * `queueTimeout` — which, under load, is most of them.
   */
  async #shared(key: string, signal: AbortSignal | undefined, guarded: (signal: AbortSignal | undefined) => Promise<SubgraphAnswer>): Promise<SubgraphAnswer> {
    let joined: ReturnType<typeof deadlineSignal> | undefined;
    try {
      return await this.#sharing.run(key, signal, guarded, () => {
        this.#onEvent({ type: 'fetch shared', subgraph: this.#name });
        joined = deadlineSignal(signal, this.#queueTimeoutMs);
        return joined.signal;
      });
    } catch (error) {
      if (joined?.signal.aborted && !signal?.aborted) return guarded(signal);
      throw error instanceof SubgraphFetchFailed ? error : new SubgraphFetchFailed('operation ended', { cause: error });
    } finally {
      joined?.dispose();
    }
  }

  async #guarded(operation: AbortSignal | undefined, timeoutMs: number, send: (signal: AbortSignal) => Promise<SubgraphAnswer>): Promise<SubgraphAnswer> {
    const pass = this.#breaker.tryPass();
    if (!pass) throw new SubgraphFetchFailed('circuit open');
    const { signal, abort, dispose } = deadlineSignal(operation, timeoutMs);
    const waiting = deadlineSignal(signal, this.#queueTimeoutMs);
    const waitingSince = this.#now();
    let release: Release;
    try {
      release = (await this.#limit.acquire(waiting.signal)) as Release; // the limit's queue has no bound
    } catch (error) {
      dispose();
      const reason = operation?.aborted ? 'operation ended' : signal.aborted ? 'timeout' : 'busy';
      // A fetch that never reached the subgraph tells its breaker nothing — unless every slot is taken and
      // not one fetch came back while it waited: the subgraph has stalled, and the breaker should know
      // now rather than a whole subgraph timeout later.
      // (Compared with when the wait began, not with the clock at the timeout: a timer may fire a
      // millisecond early by Date.now.)
      if (reason === 'busy' && this.#lastProgressAt <= waitingSince) pass.failed();
      else pass.abandoned();
      throw new SubgraphFetchFailed(reason, { cause: error });
    } finally {
      waiting.dispose();
    }
    // The breaker opened while this fetch waited for its slot: it fails fast like the fetches after it.
    if (!pass.current) {
      release();
      dispose();
      pass.abandoned();
      throw new SubgraphFetchFailed('circuit open');
    }
    this.#inFlight.add(abort);
    try {
      // A fetch the breaker cut is not the subgraph's progress.
      const answer = await send(signal).finally(() => {
        if (signal.reason !== CIRCUIT_OPENED) this.#lastProgressAt = this.#now();
      });
      // 5xx and 429: the subgraph is failing or shedding; any other status is an answer (docs/overload.md).
      if (answer.statusCode >= 500 || answer.statusCode === 429) pass.failed();
      else pass.succeeded();
      return answer;
    } catch (error) {
      if (operation?.aborted) {
        pass.abandoned();
        throw new SubgraphFetchFailed('operation ended', { cause: error });
      }
      if (signal.reason === CIRCUIT_OPENED) {
        pass.abandoned(); // let through before the breaker opened: its outcome is ignored anyway
        throw new SubgraphFetchFailed('circuit open', { cause: error });
      }
      pass.failed();
      throw new SubgraphFetchFailed(signal.reason === SUBGRAPH_TIMEOUT ? 'timeout' : 'failed', { cause: error });
    } finally {
      this.#inFlight.delete(abort);
      release();
      dispose();
    }
  }
}

/** One guard per subgraph name, made on first use and kept across supergraph reloads. */
export function createSubgraphGuards(config: Pick<GatewayConfig, 'subgraphs' | 'subgraphDefaults' | 'admission'>, log: Logger, onEvent: OverloadListener = () => {}, now?: () => number) {
  const guards = new Map<string, SubgraphGuard>();
  const { breaker, dedup, queueTimeoutMs } = config.subgraphDefaults;
  // Half the admitted operations at most wait on any one subgraph: one that stalls leaves the other half.
  // Unless configured, the limit is half of the admission bound in force (docs/overload.md), which the
  // adaptive bound lowers: half of maxInFlight would let a stalled subgraph hold every admitted operation
  // without ever filling its own limit, and so without its breaker ever learning that it stalled.
  const halfOf = (bound: number) => Math.max(1, Math.floor(bound / 2));
  let followed = halfOf(config.admission.maxInFlight);
  const limitOf = (name: string) => config.subgraphs[name]?.concurrency ?? config.subgraphDefaults.concurrency;
  const guardFor = (name: string): SubgraphGuard => {
    let guard = guards.get(name);
    if (!guard) {
      guard = new SubgraphGuard(name, { concurrency: limitOf(name) ?? followed, queueTimeoutMs: config.subgraphs[name]?.queueTimeoutMs ?? queueTimeoutMs, failures: breaker.failures, coolDownMs: breaker.coolDownMs, dedup, log, onEvent, now });
      guards.set(name, guard);
    }
    return guard;
  };
  /** The admission bound changed: the subgraphs without a configured limit follow it. */
  const followAdmissionBound = (bound: number): void => {
    followed = halfOf(bound);
    for (const [name, guard] of guards) if (limitOf(name) === undefined) guard.concurrency = followed;
  };
  return Object.assign(guardFor, { followAdmissionBound });
}
