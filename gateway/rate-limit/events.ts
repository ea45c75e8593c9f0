/**
 * What rate limiting reports as it happens (docs/fleet.md "Rate limits"): a caller refused 429 (by rule,
 * or by the failed-authentication throttle), and a decision taken while the store could not answer.
 * `GatewayOptions.onRateLimitEvent` and the metrics receive them. A listener must not throw and must not
 * block: it runs on the request path.
 */
export type RateLimitEvent =
  /** `rule`: a configured rule's name, or `failed-auth-address` / `failed-auth-api-key`. */
  | { readonly type: 'limited'; readonly rule: string }
  /** `check`: what was being decided; `decision`: what `rateLimit.storeUnavailable` made of it. */
  | { readonly type: 'store unavailable'; readonly check: 'operation' | 'failed auth'; readonly decision: 'open' | 'closed' };

export type RateLimitListener = (event: RateLimitEvent) => void;
