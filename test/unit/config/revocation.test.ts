/** The revocation and admin keys of the config table (gateway/config/table/revocation.ts, checks.ts): defaults, bounds, masking, cross-key checks. */
import { describe, expect, it } from 'vitest';
import { effectiveConfig, MASK } from '../../../gateway/config/effective.ts';
import { parseConfig } from '../../../gateway/config/load.ts';
import { CONFIG_TABLE } from '../../../gateway/config/table/index.ts';
import { lifetimeOf, retentionOf } from '../../../gateway/revocation/revocations.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

const base = { supergraph: SUPERGRAPH, identity: { issuer: 'https://gw', keys: [{ file: '/k.json' }], devKeys: true } };
const TOKEN = 'a'.repeat(40);
const problemsOf = (raw: Record<string, unknown>): string[] => {
  try {
    parseConfig({ ...base, ...raw }, { env: {} });
    return [];
  } catch (error) {
    return [...(error as { problems: string[] }).problems];
  }
};
const jwt = (maxLifetime: string) => ({ jwt: [{ issuer: 'https://idp.example', audience: ['api'], maxLifetime }] });

describe('revocation and admin', () => {
  it('default: no admin endpoint, 100 000 entries, a retention covering the longest credential (at least a day)', () => {
    const config = parseConfig(base, { env: {} });
    expect(config.admin.token).toBeUndefined();
    expect(config.revocation.maxEntries).toBe(100_000);
    expect(retentionOf(config)).toBe(86_400_000);
    expect(retentionOf(parseConfig({ ...base, auth: jwt('48h') }, { env: {} }))).toBe(172_800_000);
    expect(lifetimeOf('api-key', config)).toBe(Number.POSITIVE_INFINITY);
  });

  it('reads the admin token from the environment and never prints it', () => {
    const raw = { ...base, metrics: { listen: { port: 9464 } }, admin: { token: '${ADMIN}' } };
    expect(parseConfig(raw, { env: { ADMIN: TOKEN } }).admin.token).toBe(TOKEN);
    const shown = JSON.stringify(effectiveConfig(CONFIG_TABLE, { ...raw, admin: { token: TOKEN } }, '/'));
    expect(shown).not.toContain(TOKEN);
    expect(shown).toContain(MASK);
  });

  it('refuses a short admin token, an admin token without the metrics listener, and a retention shorter than a credential lives', () => {
    expect(problemsOf({ metrics: { listen: { port: 9464 } }, admin: { token: 'short' } })).toEqual([expect.stringContaining('admin.token')]);
    expect(problemsOf({ admin: { token: TOKEN } })).toEqual([expect.stringContaining('set metrics.listen.port')]);
    expect(problemsOf({ auth: jwt('2h'), revocation: { retention: '1h' } })).toEqual([expect.stringContaining('revocation.retention')]);
    expect(problemsOf({ auth: jwt('2h'), revocation: { retention: '2h', maxEntries: 0 } })).toEqual([expect.stringContaining('revocation.maxEntries')]);
  });
});
