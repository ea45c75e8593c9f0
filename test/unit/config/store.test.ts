/** The shared store keys of the config table (gateway/config/table/store.ts): forms, bounds, masking. */
import { describe, expect, it } from 'vitest';
import { effectiveConfig, MASK } from '../../../gateway/config/effective.ts';
import { parseConfig } from '../../../gateway/config/load.ts';
import { CONFIG_TABLE } from '../../../gateway/config/table/index.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

const base = { supergraph: SUPERGRAPH, identity: { issuer: 'https://gw', keys: [{ file: '/k.json' }], devKeys: true } };
const problemsOf = (raw: Record<string, unknown>): string[] => {
  try {
    parseConfig({ ...base, ...raw }, { env: {} });
    return [];
  } catch (error) {
    return [...(error as { problems: string[] }).problems];
  }
};

describe('store.redis', () => {
  it('is off unless a URL is given: state stays in memory', () => {
    expect(parseConfig(base, { env: {} }).store).toBeUndefined();
    expect(parseConfig({ ...base, store: {} }, { env: {} }).store).toBeUndefined();
  });

  it('reads the URL from the environment, with defaults for the rest, and never prints the password', () => {
    const config = parseConfig({ ...base, store: { redis: { url: '${REDIS_URL}' } } }, { env: { REDIS_URL: 'redis://:s3cret@redis:6379/2' } });
    expect(config.store?.redis).toEqual({ url: 'redis://:s3cret@redis:6379/2', keyPrefix: 'frontdesk:', tls: undefined, timeoutMs: 250, connectTimeoutMs: 2_000 });
    const shown = JSON.stringify(effectiveConfig(CONFIG_TABLE, { ...base, store: { redis: { url: 'redis://:s3cret@redis:6379/2' } } }, '/'));
    expect(shown).not.toContain('s3cret');
    expect(shown).toContain(MASK);
  });

  it('refuses what is not a Redis URL, a bad prefix, TLS files without rediss://, and out-of-bound timeouts', () => {
    expect(problemsOf({ store: { redis: { url: 'http://redis:6379' } } })).toEqual([expect.stringContaining('store.redis.url')]);
    expect(problemsOf({ store: { redis: { url: 'redis://r', keyPrefix: 'has space' } } })).toEqual([expect.stringContaining('store.redis.keyPrefix')]);
    expect(problemsOf({ store: { redis: { url: 'redis://r', tls: { ca: SUPERGRAPH } } } })).toEqual([expect.stringContaining('rediss://')]);
    expect(problemsOf({ store: { redis: { url: 'redis://r', timeout: '1ms' } } })).toEqual([expect.stringContaining('store.redis.timeout')]);
  });
});
