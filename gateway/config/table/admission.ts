/**
 * Config table: how many operations the gateway runs at once, and how long one may wait for its turn
 * (docs/overload.md). Past the bound and the queue, a request gets 503 OVERLOADED with `Retry-After`
 * before any authentication work or subgraph call.
 */
import { availableParallelism } from 'node:os';
import { duration, integer, number, section } from './fields.ts';

/**
 * Operations in flight per core when `admission.maxInFlight` is not set. The gateway's own work per
 * operation is a few milliseconds of CPU (docs/performance.md): 32 per core keep a core busy while fetches
 * wait on subgraphs, and bound what an admitted operation shares its core with to about 32 operations.
 */
export const IN_FLIGHT_PER_CORE = 32;
/** The queue's length when `admission.queue` is not set, in multiples of `maxInFlight`: room for a burst. */
export const QUEUE_PER_IN_FLIGHT = 4;

export const admission = section(
  'Admission control: operations in flight and the queue before them.',
  {
    maxInFlight: integer({
      defaultText: '32 × CPU cores (`os.availableParallelism()`)',
      min: 1,
      max: 100_000,
      doc: 'most GraphQL operations processed at once (authentication to answer); health, readiness and the JWKS are never counted nor queued',
    }),
    queue: integer({
      defaultText: '4 × `admission.maxInFlight`',
      min: 0,
      max: 100_000,
      doc: 'most operations waiting for a slot, fewer in proportion while the adaptive bound is under `maxInFlight` (first come first served; newest first while it is over half full or the bound is lowered); one more gets 503 `OVERLOADED` at once',
    }),
    queueTimeout: duration({ default: '1s', min: '1ms', max: '1m', doc: 'longest wait for a slot in a burst; then 503 `OVERLOADED`' }),
    standingQueueTimeout: duration({
      default: '10ms',
      min: '1ms',
      max: '1m',
      doc: 'longest wait for a slot once the queue has not been empty for a whole `queueTimeout`, or a quarter of it while the adaptive bound is under `maxInFlight` (a standing queue): an older waiter gets 503 `OVERLOADED` when a slot frees',
    }),
    eventLoopDelayTarget: duration({
      default: '20ms',
      min: '0ms',
      max: '10s',
      doc: 'event-loop delay the adaptive bound keeps under: while the loop lags more, fewer than `maxInFlight` operations are admitted (`0ms`: the loop is not a signal; with `latencyTolerance: 0` too, the bound is `maxInFlight`)',
    }),
    latencyTolerance: number({
      default: 2,
      min: 0,
      max: 100,
      doc: 'median operation latency the adaptive bound allows, as a multiple of the lowest median seen: while operations are slower, fewer than `maxInFlight` are admitted (`0`: latency is not a signal; docs/overload.md)',
    }),
    retryAfter: duration({ default: '1s', min: '1s', max: '1h', doc: '`Retry-After` of a 503 `OVERLOADED`, in whole seconds (RFC 9110 §10.2.3)' }),
  },
  ({ maxInFlight, queue, ...rest }) => {
    // availableParallelism() honours the CPU affinity mask (taskset, cpusets): the cores this process may use.
    const inFlight = maxInFlight ?? IN_FLIGHT_PER_CORE * availableParallelism();
    return { maxInFlight: inFlight, queue: queue ?? QUEUE_PER_IN_FLIGHT * inFlight, ...rest };
  },
);
