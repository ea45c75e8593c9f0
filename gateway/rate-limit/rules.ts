/**
 * Which rule applies to a caller, and whose budget it spends (docs/fleet.md "Rate limits"). The first
 * rule whose `match` holds wins. The key is the verified principal's id (`<method>:<namespace>:<subject>`,
 * unique across issuers and methods) or, for a caller without one, the connection's address — never a
 * header a client controls: `X-Forwarded-For` would let any caller pick whose budget it spends.
 */
import { isIPv6 } from 'node:net';
import type { Principal } from '../auth/principal.ts';
import type { RateLimitRule } from '../config/types.ts';

/**
 * The rules as one function from a principal to its rule, each rule's sets built once. Principals are
 * frozen and the verification cache hands out the same object for a cached credential, so the answer is
 * remembered per principal object (a WeakMap: it goes when the principal does).
 */
export function compileRules(rules: readonly RateLimitRule[]): (principal: Principal) => RateLimitRule | undefined {
  const anyOf = (wanted: readonly string[]) => (wanted.length === 0 ? undefined : new Set(wanted));
  const compiled = rules.map((rule) => ({
    rule,
    methods: anyOf(rule.match.methods),
    roles: anyOf(rule.match.roles),
    scopes: anyOf(rule.match.scopes),
    clientIds: anyOf(rule.match.clientIds),
    issuers: anyOf(rule.match.issuers),
    tenants: anyOf(rule.match.tenants),
  }));
  const one = (set: Set<string> | undefined, value: string | undefined) => set === undefined || (value !== undefined && set.has(value));
  const some = (set: Set<string> | undefined, held: readonly string[]) => set === undefined || held.some((item) => set.has(item));
  const seen = new WeakMap<Principal, RateLimitRule | null>();
  return (principal) => {
    const known = seen.get(principal);
    if (known !== undefined) return known ?? undefined;
    const found = compiled.find(
      (entry) =>
        one(entry.methods, principal.method) &&
        some(entry.roles, principal.roles) &&
        some(entry.scopes, principal.scopes) &&
        one(entry.clientIds, principal.clientId) &&
        one(entry.issuers, principal.issuer) &&
        one(entry.tenants, principal.tenant),
    )?.rule;
    seen.set(principal, found ?? null);
    return found;
  };
}

/** The first rule whose `match` holds for the principal. */
export function ruleFor(rules: readonly RateLimitRule[], principal: Principal): RateLimitRule | undefined {
  return compileRules(rules)(principal);
}

/** Whose budget: `p:<principal id>`, or `a:<address>` for a caller without a principal id. */
export function callerKey(principal: Principal, address: string | undefined): string {
  return principal.id !== undefined ? `p:${principal.id}` : `a:${addressKey(address)}`;
}

/**
 * A client address as a budget key: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 — one host
 * usually holds a whole /64, so per-address IPv6 budgets would be free to multiply (RFC 4291 §2.5.4).
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::') as [string, string?];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/64`;
}
