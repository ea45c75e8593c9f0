/** `auth.apiKeys.store` (gateway/config/table/credentials.ts): the file or the fleet's Redis, never both. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../gateway/config/load.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

const base = { supergraph: SUPERGRAPH, identity: { issuer: 'https://gw', keys: [{ file: '/k.json' }], devKeys: true } };
const redis = { redis: { url: 'redis://127.0.0.1:6379' } };
const problemsOf = (raw: Record<string, unknown>): string[] => {
  try {
    parseConfig({ ...base, ...raw }, { env: {} });
    return [];
  } catch (error) {
    return [...(error as { problems: string[] }).problems];
  }
};

describe('auth.apiKeys.store', () => {
  it('is the file by default; with store: redis the records are in Redis, looked-up records kept 1 s', () => {
    expect(parseConfig({ ...base, auth: { apiKeys: { file: SUPERGRAPH } } }, { env: {} }).auth.apiKeys).toEqual({ store: 'file', file: SUPERGRAPH, header: 'x-api-key', principalNamespace: 'local' });
    expect(parseConfig({ ...base, store: redis, auth: { apiKeys: { store: 'redis' } } }, { env: {} }).auth.apiKeys).toEqual({
      store: 'redis',
      cacheTtlMs: 1_000,
      header: 'x-api-key',
      principalNamespace: 'local',
    });
  });

  it('a store.redis of its own does not move the keys: adding Redis for another feature keeps the file', () => {
    expect(parseConfig({ ...base, store: redis, auth: { apiKeys: { file: SUPERGRAPH } } }, { env: {} }).auth.apiKeys?.store).toBe('file');
  });

  it('refuses store: redis without store.redis, a file beside store: redis, and a cacheTtl over a minute', () => {
    expect(problemsOf({ auth: { apiKeys: { store: 'redis' } } })).toEqual(['auth.apiKeys.store: redis needs store.redis (docs/fleet.md); or use store: file with auth.apiKeys.file']);
    expect(problemsOf({ store: redis, auth: { apiKeys: { store: 'redis', file: SUPERGRAPH } } })).toEqual([
      expect.stringContaining(`auth.apiKeys.file: the records live in Redis with store: redis; remove file (move its keys with \`npm run apikey -- --config <gateway.yaml> import`),
    ]);
    expect(problemsOf({ store: redis, auth: { apiKeys: { store: 'redis', cacheTtl: '2m' } } })).toEqual([expect.stringContaining('auth.apiKeys.cacheTtl')]);
    expect(problemsOf({ auth: { apiKeys: { store: 'memcached' } } })).toEqual([expect.stringContaining('auth.apiKeys.store')]);
  });
});
