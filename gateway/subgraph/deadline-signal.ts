/**
 * The signal a subgraph fetch (or its wait for a slot) runs under: the operation's own signal (its
 * deadline, its client leaving) cut short at `timeoutMs`, or by the guard (./guard.ts) when the subgraph's
 * breaker opens. One timer and one listener, both gone on dispose.
 */

/** The reason a signal of `deadlineSignal` aborts with when its own time is up. */
export const SUBGRAPH_TIMEOUT = new Error('subgraph timeout');

/** `operation` cut to `timeoutMs` (or by `abort`): one timer and one listener, both gone on dispose. */
export function deadlineSignal(operation: AbortSignal | undefined, timeoutMs: number): { signal: AbortSignal; abort: (reason: unknown) => void; dispose: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(SUBGRAPH_TIMEOUT), timeoutMs);
  const onAbort = () => controller.abort(operation?.reason);
  if (operation?.aborted) onAbort();
  else operation?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      clearTimeout(timer);
      operation?.removeEventListener('abort', onAbort);
    },
  };
}
