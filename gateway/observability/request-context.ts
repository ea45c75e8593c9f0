/**
 * For ./tracing.ts: OpenTelemetry's AsyncLocalStorage context manager, switched off whenever no sampled
 * request is in flight, on the runtimes where it costs every request. There (Node 20, and 22 without
 * `--experimental-async-context-frame`), an AsyncLocalStorage once entered propagates by a hook on every
 * promise the process creates, sampled request or not; docs/performance.md measured it as the largest
 * share of tracing's cost. `disable()` removes the hook; the next sampled request's `context.with` (or the
 * span exporter's) enters the storage and so installs it again. A continuation that outlives its
 * request's response finds no context then, and so makes no span (./unsampled-spans.ts). Where
 * AsyncLocalStorage propagates without hooks (Node 24's AsyncContextFrame), nothing is switched.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

export class RequestContextManager extends AsyncLocalStorageContextManager {
  // The hook-based implementation is the one with a per-resource `_propagate` (Node's lib/async_hooks.js).
  static readonly #hooks = typeof (AsyncLocalStorage.prototype as { _propagate?: unknown })._propagate === 'function';
  #sampledInFlight = 0;

  /** No sampled request is in flight: no context the gateway enters holds a sampled span. */
  get idle(): boolean {
    return this.#sampledInFlight === 0;
  }

  requestStarted(): void {
    this.#sampledInFlight++;
  }

  requestEnded(): void {
    if (--this.#sampledInFlight === 0 && RequestContextManager.#hooks) this.disable();
  }

  /**
   * Entering a context installs the hook; the span exporter enters one of its own for each batch, on a
   * timer, often with no sampled request in flight. It is removed again then: left on, every promise of the
   * unsampled requests that follow paid for it until the next sampled request ended (6 % of an unsampled
   * request's CPU on Node 20, docs/performance.md "Observability", seventh pass).
   */
  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    try {
      return super.with(context, fn, thisArg, ...args);
    } finally {
      if (this.#sampledInFlight === 0 && RequestContextManager.#hooks) this.disable();
    }
  }
}
