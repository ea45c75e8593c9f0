/**
 * Rate limiting (`rateLimit`, docs/fleet.md "Rate limits"): a budget per rule that operations spend by
 * their cost, and the failed-authentication throttle. Budgets live in the fleet's Redis when
 * `store.redis` is set (one atomic round trip per operation), else in this process.
 *
 * When the store cannot answer, `rateLimit.storeUnavailable` decides for operations: `closed` refuses
 * (503 AUTH_UNAVAILABLE), `open` lets them through; either way an event is reported and a log line
 * written (at most one per LOG_EVERY_MS, with the count since). Failed authentications are then counted
 * in this process instead, so guessing stays slow during an outage, per instance.
 */
import type { Principal } from '../auth/principal.ts';
import type { RateLimitConfig, RateLimitRule } from '../config/types.ts';
import { FAILED_AUTH_RULES } from '../config/table/rate-limit.ts';
import type { Logger } from '../log.ts';
import type { SharedStore } from '../store/redis.ts';
import { createBudget, type Budget } from './budget.ts';
import type { RateLimitListener } from './events.ts';
import { addressKey, callerKey, compileRules } from './rules.ts';

/** What one operation's spend came to. `budget` and `windowSeconds` describe the rule (RateLimit-Policy). */
export type Charge =
  /** No rule matches the caller. */
  | { readonly kind: 'unlimited' }
  | { readonly kind: 'allowed'; readonly rule: string; readonly budget: number; readonly windowSeconds: number; readonly remaining: number; readonly resetMs: number }
  | { readonly kind: 'limited'; readonly rule: string; readonly budget: number; readonly windowSeconds: number; readonly resetMs: number }
  /** The store could not answer: `open` lets the operation through unmetered, `closed` refuses it. */
  | { readonly kind: 'unavailable'; readonly rule: string; readonly decision: 'open' | 'closed' };

/** Refused before verification: which throttle, and for how long. */
export interface Throttled {
  readonly rule: string;
  readonly budget: number;
  readonly windowSeconds: number;
  readonly resetMs: number;
}

export interface FailedAuthThrottle {
  /** Whether the address or the API key id is over its failures; in-process, no I/O. */
  check(address: string | undefined, apiKeyId: string | undefined): Throttled | undefined;
  /** Counts one failed authentication against the address and the API key id. Never throws. */
  failed(address: string | undefined, apiKeyId: string | undefined): Promise<void>;
}

export interface RateLimiter {
  /** Spends `cost` from the budget of the caller's rule. Never throws; never waits past `store.redis.timeout`. */
  charge(principal: Principal, address: string | undefined, cost: number): Promise<Charge>;
  readonly failedAuth: FailedAuthThrottle | undefined;
}

const LOG_EVERY_MS = 10_000;

export function createRateLimiter(config: RateLimitConfig, options: { shared: SharedStore | undefined; log: Logger; onEvent?: RateLimitListener | undefined }): RateLimiter {
  const { shared, log, onEvent } = options;
  const budgets = new Map<RateLimitRule, Budget>(config.rules.map((rule) => [rule, createBudget(rule.name, rule.budget, rule.windowMs / 1000, shared)]));
  const storeDown = unavailableLog(log);
  const ruleOf = compileRules(config.rules);
  if (!shared) log.info('rate limits counted in this process (no store.redis): each instance of a fleet keeps its own budgets', { rules: config.rules.length });

  return {
    async charge(principal, address, cost) {
      const rule = ruleOf(principal);
      if (!rule) return { kind: 'unlimited' };
      const budget = budgets.get(rule) as Budget;
      const policy = { rule: rule.name, budget: rule.budget, windowSeconds: budget.windowSeconds };
      const spent = await budget.spend(callerKey(principal, address), cost);
      if (spent.kind === 'allowed') return { kind: 'allowed', ...policy, remaining: spent.remaining, resetMs: spent.resetMs };
      if (spent.kind === 'limited') {
        onEvent?.({ type: 'limited', rule: rule.name });
        return { kind: 'limited', ...policy, resetMs: spent.resetMs };
      }
      const decision = config.storeUnavailable;
      onEvent?.({ type: 'store unavailable', check: 'operation', decision });
      storeDown(`rate limit store unavailable: operations are ${decision === 'open' ? 'let through unmetered' : 'refused 503'} (rateLimit.storeUnavailable: ${decision})`, spent.error);
      return { kind: 'unavailable', rule: rule.name, decision };
    },
    failedAuth: failedAuthThrottle(config.failedAuth, { shared, onEvent, storeDown, storeUnavailable: config.storeUnavailable }),
  };
}

function failedAuthThrottle(
  config: RateLimitConfig['failedAuth'],
  options: { shared: SharedStore | undefined; onEvent: RateLimitListener | undefined; storeDown: (message: string, error: Error) => void; storeUnavailable: 'open' | 'closed' },
): FailedAuthThrottle | undefined {
  const windowSeconds = config.windowMs / 1000;
  // A shared budget and, when there is a store, this process's own for when the store cannot answer.
  const throttle = (rule: string, points: number) =>
    points === 0 ? undefined : { rule, shared: createBudget(rule, points, windowSeconds, options.shared), local: options.shared ? createBudget(rule, points, windowSeconds, undefined) : undefined };
  const byAddress = throttle(FAILED_AUTH_RULES.address, config.perAddress);
  const byKey = throttle(FAILED_AUTH_RULES.apiKey, config.perApiKey);
  if (!byAddress && !byKey) return undefined;
  type Throttle = NonNullable<typeof byAddress>;
  const blocked = (entry: Throttle | undefined, key: string | undefined): Throttled | undefined => {
    if (!entry || key === undefined) return undefined;
    const resetMs = Math.max(entry.shared.blockedMs(key), entry.local?.blockedMs(key) ?? 0);
    return resetMs > 0 ? { rule: entry.rule, budget: entry.shared.points, windowSeconds, resetMs } : undefined;
  };
  const spend = async (entry: Throttle | undefined, key: string | undefined) => {
    if (!entry || key === undefined) return;
    const spent = await entry.shared.spend(key, 1);
    if (spent.kind !== 'unavailable') return;
    options.onEvent?.({ type: 'store unavailable', check: 'failed auth', decision: options.storeUnavailable });
    options.storeDown('rate limit store unavailable: failed authentications are counted per instance until it returns', spent.error);
    await entry.local?.spend(key, 1);
  };

  return {
    check(address, apiKeyId) {
      const found = blocked(byKey, apiKeyId) ?? blocked(byAddress, addressKey(address));
      if (found) options.onEvent?.({ type: 'limited', rule: found.rule });
      return found;
    },
    async failed(address, apiKeyId) {
      await Promise.all([spend(byAddress, addressKey(address)), spend(byKey, apiKeyId)]);
    },
  };
}

/** Logs the first failure of an outage at once, then at most one line per LOG_EVERY_MS with the count since. */
function unavailableLog(log: Logger): (message: string, error: Error) => void {
  let lastLogged = 0;
  let since = 0;
  return (message, error) => {
    since++;
    const now = Date.now();
    if (now - lastLogged < LOG_EVERY_MS) return;
    log.warn(message, { error: error.message, decisions: since });
    lastLogged = now;
    since = 0;
  };
}
