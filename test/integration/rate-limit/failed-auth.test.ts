/**
 * Failed authentications are throttled (docs/fleet.md "Rate limits"; SECURITY.md "guessing is
 * throttled"): per API key id, read from the key without verifying it, and per client address; once over,
 * the caller gets 429 RATE_LIMITED with Retry-After before any verification — even with the right secret.
 * Two gateways share the counts through one real Redis.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../gateway/auth/api-keys/manage.ts';
import { parseKeyFile } from '../../../gateway/auth/api-keys/store.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { startStack, type HttpResult, type LogEntry, type Peer, type Stack } from '../../support/stack.ts';

const QUERY = { query: '{ topProducts(first: 1) { upc } }' };
const withKey = (key: string) => ({ headers: { 'x-api-key': key } });
/** The same key id with another secret: a guess. */
const guessFor = (key: string, n: number) => key.replace(/_[0-9a-f]{64}$/, `_${n.toString(16).padStart(64, '0')}`);
const refusalsOf = (logs: LogEntry[], id: string) => logs.filter((entry) => entry.msg === 'authentication refused' && JSON.stringify(entry).includes(id)).length;

function expectThrottled(result: HttpResult, rule: string): void {
  expect(result.status).toBe(429);
  expect(result.body.errors?.[0]).toMatchObject({ message: 'Too many requests', extensions: { code: 'RATE_LIMITED' } });
  const retryAfter = Number(result.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(result.headers.get('ratelimit')).toBe(`"${rule}";r=0;t=${retryAfter}`);
}

let redis: TestRedis;
let keysFile: string;
beforeAll(async () => {
  redis = await startRedis();
  keysFile = join(mkdtempSync(join(tmpdir(), 'frontdesk-throttle-')), 'api-keys.yaml');
  writeFileSync(keysFile, 'keys: []\n');
});
afterAll(async () => {
  await redis?.stop();
});

/** Both instances have read the key store (polled every 500 ms). */
let loaded: () => Promise<void>;

async function fleet(failedAuth: Record<string, unknown>, keyPrefix: string): Promise<{ stack: Stack; peer: Peer }> {
  const stack = await startStack({
    auth: { anonymous: true, apiKeys: { file: keysFile } },
    config: { store: { redis: { url: redis.url, keyPrefix } }, rateLimit: { failedAuth } },
  });
  const peer = await stack.startPeer();
  // Watched in the logs, not by trying the key: a try before the reload would count as a failure.
  loaded = async () => {
    const keys = parseKeyFile(readFileSync(keysFile, 'utf8')).keys.length;
    for (const logs of [stack.logs, peer.logs]) await expect.poll(() => logs.some((entry) => entry.msg === 'API key store loaded' && entry.keys === keys), { timeout: 5_000 }).toBe(true);
  };
  return { stack, peer };
}

describe('per API key id', () => {
  let stack: Stack;
  let peer: Peer;
  beforeAll(async () => ({ stack, peer } = await fleet({ perApiKey: 3, perAddress: 0 }, 'throttle-key:')));
  afterAll(async () => {
    await stack?.close();
  });

  it('answers the N+1th attempt on one key id 429 without verifying it, even with the right secret; other keys are served', async () => {
    const { key, record } = createApiKey(keysFile, { name: 'victim', scopes: ['products:read'] });
    const { key: other } = createApiKey(keysFile, { name: 'bystander', scopes: ['products:read'] });
    await loaded();

    for (let n = 1; n <= 3; n++) expect((await stack.query(QUERY, withKey(guessFor(key, n)))).status).toBe(401);
    expect(refusalsOf(stack.logs, record.id)).toBe(3);
    expectThrottled(await stack.query(QUERY, withKey(guessFor(key, 4))), 'failed-auth-api-key');
    expectThrottled(await stack.query(QUERY, withKey(key)), 'failed-auth-api-key');
    expectThrottled(await stack.query(QUERY, { token: key }), 'failed-auth-api-key');
    expect(refusalsOf(stack.logs, record.id)).toBe(3);
    expect((await stack.query(QUERY, withKey(other))).status).toBe(200);
  });

  it('counts one key id\'s failures across the fleet: at most one more verification per other instance, then 429 everywhere', async () => {
    const { key, record } = createApiKey(keysFile, { name: 'spread', scopes: ['products:read'] });
    await loaded();
    const statuses: number[] = [];
    for (let n = 1; n <= 6; n++) statuses.push((await (n % 2 ? stack : peer).query(QUERY, withKey(guessFor(key, n)))).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(4);
    expect(refusalsOf([...stack.logs, ...peer.logs], record.id)).toBeLessThanOrEqual(4);
    expectThrottled(await stack.query(QUERY, withKey(key)), 'failed-auth-api-key');
    expectThrottled(await peer.query(QUERY, withKey(key)), 'failed-auth-api-key');
  });
});

describe('per client address', () => {
  let stack: Stack;
  let peer: Peer;
  beforeAll(async () => ({ stack, peer } = await fleet({ perAddress: 4, perApiKey: 0 }, 'throttle-address:')));
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses every credential from an address over its failures, across the fleet, before verification; no credential is no guess', async () => {
    const { key } = createApiKey(keysFile, { name: 'from-this-address', scopes: ['products:read'] });
    await loaded();
    // Missing credentials (anonymous callers) are not failures.
    for (let i = 0; i < 6; i++) expect((await peer.query(QUERY)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await (i % 2 ? stack : peer).query(QUERY, { token: `not-a-jwt-${i}` })).status).toBe(401);
    const next = await stack.query(QUERY, withKey(key));
    expect([401, 429, 200]).toContain(next.status); // the instance that did not see the 4th failure may still verify once
    await peer.query(QUERY, { token: 'not-a-jwt-again' });
    expectThrottled(await stack.query(QUERY, withKey(key)), 'failed-auth-address');
    expectThrottled(await peer.query(QUERY, withKey(key)), 'failed-auth-address');
  });
});
