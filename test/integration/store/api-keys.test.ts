/**
 * Shared API keys (docs/fleet.md "Shared API keys"): two gateway instances over one real Redis. A key made
 * in Redis works on both; revoked or rotated on one side, it is refused by both within a second (measured:
 * the instances cache records for a minute here, so only the change announcement can make it that quick);
 * Redis away or slow is a 503 AUTH_UNAVAILABLE within `store.redis.timeout`, and keys work again when it
 * is back.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TSX_NODE_ARGS } from '../../../dev/node-args.ts';
import { createApiKey } from '../../../gateway/auth/api-keys/manage.ts';
import { createApiKeyInRedis, importApiKeysToRedis, revokeApiKeyInRedis, rotateApiKeyInRedis } from '../../../gateway/auth/api-keys/redis-records.ts';
import { createLogger } from '../../../gateway/log.ts';
import { connectSharedStore, type SharedStore } from '../../../gateway/store/redis.ts';
import { rawPost, sleep, waitUntil } from '../auth/support.ts';
import { startObservedGateway, type ObservedGateway } from '../observability/support.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { ROOT, SUPERGRAPH, startStack, type Stack } from '../../support/stack.ts';

const run = promisify(execFile);
const PREFIX = 'fd-keys:';
const TIMEOUT_MS = 250;
const INVALID = { errors: [{ message: 'The API key is invalid', extensions: { code: 'UNAUTHENTICATED' } }] };

let redis: TestRedis;
let stack: Stack;
let admin: SharedStore;
let gateways: ObservedGateway[];
const dir = mkdtempSync(join(tmpdir(), 'frontdesk-shared-keys-'));

const withKey = (gateway: ObservedGateway, key: string) => rawPost(gateway.gateway.url, '/graphql', ['x-api-key', key]);
const statusOn = async (key: string) => Promise.all(gateways.map(async (gateway) => (await withKey(gateway, key)).status));
/** Milliseconds until every instance refuses `key`, polling each every 5 ms. */
async function untilRefusedEverywhere(key: string, since: number): Promise<number> {
  await waitUntil(async () => (await statusOn(key)).every((status) => status === 401), 3_000, 5);
  return performance.now() - since;
}
/** How many HGETALLs Redis has run (the gateway's one lookup command). */
async function lookups(): Promise<number> {
  const info = await admin.redis.info('commandstats');
  return Number(/cmdstat_hgetall:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

beforeAll(async () => {
  redis = await startRedis();
  stack = await startStack();
  const store = { redis: { url: redis.url, keyPrefix: PREFIX, timeout: `${TIMEOUT_MS}ms`, connectTimeout: '1s' } };
  // cacheTtl 1m: within the second asserted below, only the pub/sub announcement can drop a cached record.
  const config = { store, auth: { anonymous: false, apiKeys: { store: 'redis', cacheTtl: '1m', principalNamespace: 'partners' } }, logLevel: 'warn' };
  gateways = [await startObservedGateway(stack, config), await startObservedGateway(stack, config)];
  admin = await connectSharedStore({ url: redis.url, keyPrefix: PREFIX, tls: undefined, timeoutMs: 1_000, connectTimeoutMs: 1_000 }, createLogger({ level: 'silent' }));
}, 30_000);
afterAll(async () => {
  await Promise.all((gateways ?? []).map((gateway) => gateway.gateway.close()));
  await admin?.close();
  await stack?.close();
  await redis?.stop();
});

describe('API keys in Redis, two gateway instances', () => {
  it('a key created in Redis works on both, as its owner, with its scopes', async () => {
    const { key } = await createApiKeyInRedis(admin, { name: 'ci-bot', scopes: ['products:read'], roles: ['ci'] });
    const before = stack.subgraphs.products.received.length;
    expect(await statusOn(key)).toEqual([200, 200]);
    const seen = stack.subgraphs.products.received.slice(before).map((request) => request.identity?.claims);
    expect(seen).toEqual([0, 1].map(() => expect.objectContaining({ amr: ['api_key'], pid: 'api_key:partners:ci-bot', scope: ['products:read'], roles: ['ci'] })));
  });

  it('revoked (by the manage functions, on any instance) is refused by both within 1 s, though both had it cached', async () => {
    const { key, record } = await createApiKeyInRedis(admin, { name: 'partner' });
    expect(await statusOn(key)).toEqual([200, 200]);
    const cachedLookups = await lookups();
    expect(await statusOn(key)).toEqual([200, 200]);
    expect(await lookups()).toBe(cachedLookups); // served from each instance's cache: no round trip
    const revokedAt = performance.now();
    await revokeApiKeyInRedis(admin, record.id);
    const elapsed = await untilRefusedEverywhere(key, revokedAt);
    console.info(`API key revocation reached both instances in ${elapsed.toFixed(1)} ms`);
    expect(elapsed).toBeLessThan(1_000);
    for (const gateway of gateways) expect((await withKey(gateway, key)).body).toEqual(INVALID);
  });

  it('revoked with the CLI (npm run apikey -- --config gateway.yaml revoke <id>): refused by both within 1 s of the write', async () => {
    const { key, record } = await createApiKeyInRedis(admin, { name: 'cli-revoked' });
    expect(await statusOn(key)).toEqual([200, 200]);
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `supergraph: ${SUPERGRAPH}\nidentity: { issuer: ${stack.identityIssuer}, keys: [{ file: ${stack.identityKeyFile} }] }\n` +
        `store: { redis: { url: ${redis.url}, keyPrefix: '${PREFIX}' } }\nauth: { apiKeys: { store: redis } }\n`,
    );
    const cli = run(process.execPath, [...TSX_NODE_ARGS, join(ROOT, 'scripts/apikey.ts'), '--config', config, 'revoke', record.id], { cwd: ROOT, env: { ...process.env } });
    // The write is done when the CLI says so; measure from then (tsx's start-up is not the gateway's doing).
    await new Promise<void>((resolve) => cli.child.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes(`revoked ${record.id}`) && resolve()));
    const elapsed = await untilRefusedEverywhere(key, performance.now());
    console.info(`API key revocation by the CLI reached both instances in ${elapsed.toFixed(1)} ms`);
    expect(elapsed).toBeLessThan(1_000);
    await cli;
  }, 30_000);

  it('rotated with no grace: the old secret is refused by both within 1 s, the new key works on both', async () => {
    const { key: old, record } = await createApiKeyInRedis(admin, { name: 'rotating' });
    expect(await statusOn(old)).toEqual([200, 200]);
    const rotatedAt = performance.now();
    const fresh = await rotateApiKeyInRedis(admin, record.id, 0);
    expect(await untilRefusedEverywhere(old, rotatedAt)).toBeLessThan(1_000);
    expect(await statusOn(fresh)).toEqual([200, 200]);
  });

  it('unknown, wrong, revoked and expired keys: one answer, after one lookup each (and none when asked again)', async () => {
    const { key: good } = await createApiKeyInRedis(admin, { name: 'good' });
    const { key: revoked, record } = await createApiKeyInRedis(admin, { name: 'revoked' });
    await revokeApiKeyInRedis(admin, record.id);
    const { key: expired } = await createApiKeyInRedis(admin, { name: 'expired', expiresAt: new Date(Date.now() - 1_000).toISOString() });
    const wrong = `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`;
    const unknown = `fd_${'e'.repeat(16)}_${good.slice(-64)}`;
    const [gateway] = gateways as [ObservedGateway];
    for (const key of [unknown, wrong, revoked, expired]) {
      for (const round of [1, 2]) {
        const before = await lookups();
        const answer = await withKey(gateway, key);
        expect({ status: answer.status, body: answer.body }).toEqual({ status: 401, body: INVALID });
        expect(await lookups()).toBe(before + (round === 1 ? 1 : 0));
      }
    }
  });

  it('a key created after an instance cached its id as unknown works at once (the creation is announced)', async () => {
    const file = join(dir, 'announced.yaml');
    writeFileSync(file, 'keys: []\n');
    const { key } = createApiKey(file, { name: 'late' });
    expect(await statusOn(key)).toEqual([401, 401]); // now cached as unknown on both
    await importApiKeysToRedis(admin, file);
    await waitUntil(async () => (await statusOn(key)).every((status) => status === 200), 1_000, 5);
  });
});

describe('Redis away', () => {
  it('slow (clients paused): a lookup answers 503 AUTH_UNAVAILABLE after store.redis.timeout, never 401', async () => {
    await admin.redis.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const started = performance.now();
    const answer = await withKey(gateways[0] as ObservedGateway, `fd_${'1'.repeat(16)}_${'2'.repeat(64)}`);
    const elapsed = performance.now() - started;
    expect({ status: answer.status, code: answer.body?.errors?.[0]?.extensions?.code, retryAfter: answer.headers['retry-after'] }).toEqual({
      status: 503,
      code: 'AUTH_UNAVAILABLE',
      retryAfter: expect.stringMatching(/^\d+$/),
    });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 500);
    await sleep(1_600);
  });

  it('killed: every API key is 503 AUTH_UNAVAILABLE at once (no crash, no hang); after a restart and an import, keys work again', async () => {
    const file = join(dir, 'recovery.yaml');
    writeFileSync(file, 'keys: []\n');
    const { key } = createApiKey(file, { name: 'survivor' });
    await importApiKeysToRedis(admin, file);
    expect(await statusOn(key)).toEqual([200, 200]);

    await redis.kill();
    await waitUntil(async () => (await statusOn(key)).every((status) => status === 503), 500, 5);
    for (const gateway of gateways) {
      const started = performance.now();
      const answer = await withKey(gateway, key);
      expect({ status: answer.status, code: answer.body?.errors?.[0]?.extensions?.code }).toEqual({ status: 503, code: 'AUTH_UNAVAILABLE' });
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 250);
    }

    await redis.restart(); // empty: nothing was persisted
    await waitUntil(() => admin.available(), 5_000);
    await importApiKeysToRedis(admin, file);
    await waitUntil(async () => (await statusOn(key)).every((status) => status === 200), 5_000, 50);
    // Each instance subscribed again: a revocation still reaches both quickly.
    const { key: after, record } = await createApiKeyInRedis(admin, { name: 'after-restart' });
    expect(await statusOn(after)).toEqual([200, 200]);
    const revokedAt = performance.now();
    await revokeApiKeyInRedis(admin, record.id);
    expect(await untilRefusedEverywhere(after, revokedAt)).toBeLessThan(1_000);
  }, 30_000);
});
