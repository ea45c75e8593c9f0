/**
 * The response fields of a budget, per draft-ietf-httpapi-ratelimit-headers (-09/-10): `RateLimit-Policy:
 * "<rule>";q=<budget>;w=<window s>` and `RateLimit: "<rule>";r=<remaining>;t=<s until reset>`, both RFC
 * 8941 lists; `Retry-After` (RFC 9110 §10.2.3) on a 429. The quota unit is the operation's cost, not a
 * request, so no `qu` is sent (docs/fleet.md "Rate limits" says what a unit is). Rule names are
 * restricted to characters an RFC 8941 string needs no escape for (RULE_NAME_PATTERN).
 */

export function policyField(rule: string, budget: number, windowSeconds: number): string {
  return `"${rule}";q=${budget};w=${windowSeconds}`;
}

export function limitField(rule: string, remaining: number, resetMs: number): string {
  return `"${rule}";r=${remaining};t=${resetSeconds(resetMs)}`;
}

/** Whole seconds until the window ends, at least 1 (a 0 would invite an immediate retry). */
export function resetSeconds(resetMs: number): number {
  return Math.max(1, Math.ceil(resetMs / 1000));
}
