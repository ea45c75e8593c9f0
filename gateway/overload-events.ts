/**
 * What the overload protection reports as it happens (docs/overload.md): a request shed by the admission
 * control, the adaptive bound on operations in flight changing, a subgraph's circuit breaker changing
 * state, a subgraph fetch shared by a waiting request.
 * `GatewayOptions.onOverloadEvent` receives them, for metrics (issue 14); state changes are also logged.
 * A listener must not throw and must not block: it runs on the request path.
 */
export type OverloadEvent =
  | { readonly type: 'shed'; readonly reason: 'queue full' | 'queue timeout' }
  /** At start (`admission.maxInFlight`), then whenever the adaptive bound changes. */
  | { readonly type: 'admission bound'; readonly operations: number }
  | { readonly type: 'breaker'; readonly subgraph: string; readonly state: BreakerState }
  | { readonly type: 'fetch shared'; readonly subgraph: string };

export type BreakerState = 'closed' | 'open' | 'half-open';

export type OverloadListener = (event: OverloadEvent) => void;
