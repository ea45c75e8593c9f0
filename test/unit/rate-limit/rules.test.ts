/** Which rule a caller falls under and whose budget it spends (gateway/rate-limit/rules.ts). */
import { describe, expect, it } from 'vitest';
import { ANONYMOUS, type Principal } from '../../../gateway/auth/principal.ts';
import { parseConfig } from '../../../gateway/config/load.ts';
import { addressKey, callerKey, ruleFor } from '../../../gateway/rate-limit/rules.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

const base = { supergraph: SUPERGRAPH, identity: { issuer: 'https://gw', keys: [{ file: '/k.json' }], devKeys: true } };
const problemsOf = (rateLimit: unknown): string[] => {
  try {
    parseConfig({ ...base, rateLimit }, { env: {} });
    return [];
  } catch (error) {
    return [...(error as { problems: string[] }).problems];
  }
};
const user = (fields: Partial<Principal>): Principal => ({ ...ANONYMOUS, id: 'jwt:idp:u1', subject: 'u1', method: 'jwt', ...fields });

describe('rateLimit config', () => {
  it('is off when absent or empty, on with rules or failedAuth limits', () => {
    expect(parseConfig(base, { env: {} }).rateLimit).toBeUndefined();
    expect(parseConfig({ ...base, rateLimit: {} }, { env: {} }).rateLimit).toBeUndefined();
    expect(parseConfig({ ...base, rateLimit: { failedAuth: { perApiKey: 5 } } }, { env: {} }).rateLimit?.failedAuth).toEqual({ perAddress: 30, perApiKey: 5, windowMs: 60_000 });
    const config = parseConfig({ ...base, rateLimit: { rules: [{ name: 'all', budget: 10 }] } }, { env: {} }).rateLimit;
    expect(config?.storeUnavailable).toBe('closed');
    expect(config?.rules[0]).toMatchObject({ name: 'all', budget: 10, windowMs: 60_000 });
  });

  it('refuses bad names, duplicate and reserved names, and windows that are not whole seconds', () => {
    expect(problemsOf({ rules: [{ name: 'Has Space', budget: 1 }] })).toEqual([expect.stringContaining('rateLimit.rules[0].name')]);
    expect(problemsOf({ rules: [{ name: 'a', budget: 1 }, { name: 'a', budget: 2 }] })).toEqual([expect.stringContaining('"a" is named twice')]);
    expect(problemsOf({ rules: [{ name: 'failed-auth-address', budget: 1 }] })).toEqual([expect.stringContaining('failed-authentication throttle')]);
    expect(problemsOf({ rules: [{ name: 'a', budget: 1, window: '1500ms' }] })).toEqual([expect.stringContaining('whole seconds')]);
    expect(problemsOf({ rules: [{ name: 'a' }] })).toEqual([expect.stringContaining('rateLimit.rules[0].budget: required')]);
  });
});

describe('ruleFor', () => {
  const rules = parseConfig({
    ...base,
    rateLimit: {
      rules: [
        { name: 'partners', match: { methods: ['api_key'], roles: ['partner'] }, budget: 100 },
        { name: 'readers', match: { scopes: ['products:read'], tenants: ['acme'] }, budget: 50 },
        { name: 'anonymous', match: { methods: 'anonymous' }, budget: 10 },
      ],
    },
  }, { env: {} }).rateLimit!.rules;

  it('takes the first rule whose every given key holds', () => {
    expect(ruleFor(rules, user({ method: 'api_key', roles: ['partner', 'x'] }))?.name).toBe('partners');
    expect(ruleFor(rules, user({ method: 'jwt', roles: ['partner'], scopes: ['products:read'], tenant: 'acme' }))?.name).toBe('readers');
    expect(ruleFor(rules, user({ scopes: ['products:read'], tenant: 'other' }))).toBeUndefined();
    expect(ruleFor(rules, ANONYMOUS)?.name).toBe('anonymous');
  });
});

describe('callerKey', () => {
  it('is the principal id, or the address for a caller without one', () => {
    expect(callerKey(user({}), '10.0.0.1')).toBe('p:jwt:idp:u1');
    expect(callerKey(ANONYMOUS, '10.0.0.1')).toBe('a:10.0.0.1');
  });

  it('keys IPv6 by its /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});
