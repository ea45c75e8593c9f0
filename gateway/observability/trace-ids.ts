/**
 * Trace and span ids for ./tracing.ts: random bytes from node:crypto's CSPRNG, hex-encoded 4 KiB at a
 * time, each id a slice of that string.
 *
 * Why not the SDK's RandomIdGenerator: it fills a shared buffer from Math.random and hex-encodes every id
 * with a native call of its own, and the gateway makes two ids per request, sampled or not (the trace id
 * of its logs, and the span id of the `traceparent` its subgraphs receive). One native call here encodes
 * the bytes of 128 trace ids: ~560 machine instructions per id against ~2 100 (valgrind's callgrind over a
 * loop of 200 000; docs/performance.md "Observability", eighth pass).
 *
 * W3C Trace Context (https://www.w3.org/TR/trace-context/ "trace-id", "parent-id") forbids an id of all
 * zeros; one is drawn again.
 */
import { randomFillSync } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace-node';

const POOL_BYTES = 4_096;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

export class RequestIds implements IdGenerator {
  readonly #bytes = Buffer.alloc(POOL_BYTES);
  readonly #fill: (bytes: Buffer) => void;
  #hex = '';
  #at = 0;

  /** `fill` writes fresh random bytes into the pool (a test's seam; node:crypto's CSPRNG otherwise). */
  constructor(fill: (bytes: Buffer) => void = randomFillSync) {
    this.#fill = fill;
  }

  generateTraceId = (): string => this.#random(32, ZERO_TRACE_ID);

  generateSpanId = (): string => this.#random(16, ZERO_SPAN_ID);

  #random(length: number, zero: string): string {
    for (;;) {
      if (this.#at + length > this.#hex.length) {
        this.#fill(this.#bytes);
        this.#hex = this.#bytes.toString('hex');
        this.#at = 0;
      }
      const id = this.#hex.slice(this.#at, (this.#at += length));
      if (id !== zero) return id;
    }
  }
}
