/**
 * Which rule applies to a caller, and whose budget it spends (docs/fleet.md "Rate limits"). The first
 * rule whose `match` holds wins. The key is the verified principal's id (`<method>:<namespace>:<subject>`,
 * unique across issuers and methods) or, for a caller without one, the connection's address — never a
 * header a client controls: `X-Forwarded-For` would let any caller pick whose budget it spends.
 */
import { isIPv6 } from 'node:net';
import type { Principal } from '../auth/principal.ts';
import type { RateLimitRule } from '../config/types.ts';

export function ruleFor(rules: readonly RateLimitRule[], principal: Principal): RateLimitRule | undefined {
  return rules.find(({ match }) => {
    const anyOf = (wanted: readonly string[], value: string | undefined) => wanted.length === 0 || (value !== undefined && wanted.includes(value));
    const overlaps = (wanted: readonly string[], held: readonly string[]) => wanted.length === 0 || held.some((item) => wanted.includes(item));
    return (
      anyOf(match.methods, principal.method) &&
      overlaps(match.roles, principal.roles) &&
      overlaps(match.scopes, principal.scopes) &&
      anyOf(match.clientIds, principal.clientId) &&
      anyOf(match.issuers, principal.issuer) &&
      anyOf(match.tenants, principal.tenant)
    );
  });
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
