/**
 * API keys end to end (README "API keys", issue 12): a key from the store file authenticates as its
 * owner with `amr: ["api_key"]` and `pid: api_key:<namespace>:<owner>`; truncated, wrong-secret, unknown,
 * revoked and expired keys all get one and the same answer (and about the same time); a key in the URL
 * or sent twice is ambiguous; revocation and rotation take effect from the file, without a restart.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey, rotateApiKey } from '../../../gateway/auth/api-keys/manage.ts';
import { startStack, type Stack } from '../../support/stack.ts';
import { baseOf, expectNoSubgraphCalled, rawPost, waitUntil, type RawResult } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'frontdesk-apikeys-'));
const file = join(dir, 'api-keys.yaml');
let stack: Stack;
let ciKey: string;
let ciId: string;

const INVALID_KEY = 'Bearer realm="frontdesk", error="invalid_token", error_description="The API key is invalid"';
const withKey = (key: string, header = 'x-api-key') => rawPost(baseOf(stack), '/graphql', [header, key]);

function expectKeyRefused(result: RawResult): void {
  expect({ status: result.status, challenge: result.headers['www-authenticate'] }).toEqual({ status: 401, challenge: INVALID_KEY });
  expect(result.body).toEqual({ errors: [{ message: 'The API key is invalid', extensions: { code: 'UNAUTHENTICATED' } }] });
  expectNoSubgraphCalled(stack);
}

beforeAll(async () => {
  writeFileSync(file, 'keys: []\n');
  ({ key: ciKey, record: { id: ciId } } = createApiKey(file, { name: 'ci-bot', scopes: ['products:read'], roles: ['ci'], tenant: 'acme' }));
  stack = await startStack({ auth: { anonymous: false, apiKeys: { file, principalNamespace: 'partners' } } });
});
afterAll(() => stack?.close());
beforeEach(() => stack.resetReceived());

describe('API keys', () => {
  it('a valid key is its owner: amr api_key, pid api_key:<namespace>:<owner>, scopes, roles and tenant from the record', async () => {
    const result = await withKey(ciKey);
    expect(result.status).toBe(200);
    expect(result.body?.data?.topProducts).toHaveLength(1);
    expect(stack.subgraphs.products.received[0]?.identity?.claims).toMatchObject({
      amr: ['api_key'],
      sub: 'ci-bot',
      pid: 'api_key:partners:ci-bot',
      scope: ['products:read'],
      roles: ['ci'],
      tenant: 'acme',
    });
    expect(stack.subgraphs.products.received[0]?.headers['x-api-key']).toBeUndefined();
  });

  it('is also accepted as a Bearer token (its fd_ shape picks the method)', async () => {
    const result = await rawPost(baseOf(stack), '/graphql', ['authorization', `Bearer ${ciKey}`]);
    expect(result.status).toBe(200);
    expect(stack.subgraphs.products.received[0]?.identity?.claims.amr).toEqual(['api_key']);
  });

  it('truncated, wrong secret, unknown id, garbage: one answer', async () => {
    const wrongSecret = `${ciKey.slice(0, -1)}${ciKey.endsWith('0') ? '1' : '0'}`;
    const unknownId = `fd_${'0'.repeat(16)}_${ciKey.slice(-64)}`;
    for (const key of [ciKey.slice(0, -10), wrongSecret, unknownId, 'fd_', 'not-a-key', ciKey.toUpperCase()]) expectKeyRefused(await withKey(key));
  });

  it('revoked and expired keys get the same answer as a wrong secret, and revocation needs no restart (≤ 2 s)', async () => {
    const { key, record } = createApiKey(file, { name: 'partner', scopes: ['products:read'] });
    const { key: expired } = createApiKey(file, { name: 'old', expiresAt: new Date(Date.now() - 1_000).toISOString() });
    await waitUntil(async () => (await withKey(key)).status === 200, 2_000);
    stack.resetReceived();
    expectKeyRefused(await withKey(expired));
    const revokedAt = Date.now();
    revokeApiKey(file, record.id);
    await waitUntil(async () => (await withKey(key)).status === 401, 2_000);
    expect(Date.now() - revokedAt).toBeLessThan(2_000);
    stack.resetReceived();
    expectKeyRefused(await withKey(key));
  });

  it('rotation: the new key works at once, the old one until its grace period ends', async () => {
    const { key: old, record } = createApiKey(file, { name: 'rotating' });
    const fresh = rotateApiKey(file, record.id, 60_000);
    await waitUntil(async () => (await withKey(fresh)).status === 200, 2_000);
    expect((await withKey(old)).status).toBe(200);
    const newest = rotateApiKey(file, record.id, 0); // grace 0: every older secret ends now
    await waitUntil(async () => (await withKey(old)).status === 401, 2_000);
    expect((await withKey(fresh)).status).toBe(401);
    expect((await withKey(newest)).status).toBe(200);
  });

  it('a key in the URL is refused even with a valid key header, and never reaches a subgraph', async () => {
    for (const search of [`?api_key=${ciKey}`, `?x-api-key=${ciKey}`, `?q=${ciKey}`, `?q=${encodeURIComponent(ciKey)}`]) {
      const result = await rawPost(baseOf(stack), `/graphql${search}`, ['x-api-key', ciKey]);
      expect({ status: result.status, challenge: result.headers['www-authenticate'] }).toEqual({
        status: 401,
        challenge: 'Bearer realm="frontdesk", error="invalid_request", error_description="Send the API key in a header, not the URL"',
      });
      expectNoSubgraphCalled(stack);
    }
  });

  it('sent twice, or beside a bearer token: 401 invalid_request', async () => {
    const ambiguous = [
      ['x-api-key', ciKey, 'x-api-key', ciKey],
      ['x-api-key', ciKey, 'X-Api-Key', 'fd_other'],
      ['x-api-key', ciKey, 'authorization', 'Bearer opaque-token'],
      ['x-api-key', ciKey, 'authorization', `Bearer ${ciKey}`],
    ];
    for (const headers of ambiguous) {
      const result = await rawPost(baseOf(stack), '/graphql', headers);
      expect({ status: result.status, challenge: result.headers['www-authenticate'] }).toEqual({
        status: 401,
        challenge: 'Bearer realm="frontdesk", error="invalid_request", error_description="Send exactly one credential"',
      });
      expectNoSubgraphCalled(stack);
    }
  });

  it('unknown id and wrong secret take about the same time (loosely: medians within 2 ms)', async () => {
    const unknownId = `fd_${'f'.repeat(16)}_${ciKey.slice(-64)}`;
    const wrong = `${ciKey.slice(0, -64)}${'0'.repeat(64)}`;
    const time = async (key: string) => {
      const started = process.hrtime.bigint();
      await stack.authenticator.authenticate({ rawHeaders: ['x-api-key', key], search: '' }).catch(() => undefined);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const samples = { unknown: [] as number[], wrong: [] as number[] };
    for (let i = 0; i < 300; i++) {
      samples.unknown.push(await time(unknownId));
      samples.wrong.push(await time(wrong));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    expect(Math.abs(median(samples.unknown) - median(samples.wrong))).toBeLessThan(2);
  });

  it('a store file that no longer parses fails closed: 503, never the keys it held before', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'keys: []\n');
    const { key } = createApiKey(broken, { name: 'x' });
    const other = await startStack({ auth: { anonymous: true, apiKeys: { file: broken } } });
    try {
      const ok = await rawPost(other.gateway.url, '/graphql', ['x-api-key', key]);
      expect(ok.status).toBe(200);
      writeFileSync(broken, 'keys: [ {id: nope');
      await waitUntil(async () => (await rawPost(other.gateway.url, '/graphql', ['x-api-key', key])).status === 503, 2_000);
      const result = await rawPost(other.gateway.url, '/graphql', ['x-api-key', key]);
      expect(result.body).toEqual({ errors: [{ message: 'Authentication is temporarily unavailable', extensions: { code: 'AUTH_UNAVAILABLE' } }] });
    } finally {
      await other.close();
    }
  });
});

