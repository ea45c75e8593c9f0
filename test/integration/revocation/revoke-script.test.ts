/**
 * `npm run revoke` (scripts/revoke.ts) as an operator runs it, against the gateway config file: with
 * `store.redis` it writes to Redis and a running instance refuses within a second; without, it asks the
 * one instance's admin endpoint; bad usage is exit 2 and nothing is revoked.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { TSX_NODE_ARGS } from '../../../dev/node-args.ts';
import { ADMIN_TOKEN, metricValue, millisUntil, startInstance } from '../../support/fleet.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { ROOT, SUPERGRAPH, type Stack } from '../../support/stack.ts';

const ISSUER = 'https://idp.revoke-script.test';
const dir = mkdtempSync(join(tmpdir(), 'frontdesk-revoke-'));
let key: CryptoKey;
let jwks: string;

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TSX_NODE_ARGS, join(ROOT, 'scripts/revoke.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const token = (sub: string) => new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setAudience('https://api.test/').setSubject(sub).setIssuedAt().setExpirationTime('5m').sign(key);
const auth = () => ({ anonymous: false, jwt: [{ issuer: ISSUER, jwks, audience: ['https://api.test/'], principalNamespace: 'shop' }] });
/** A gateway config file as an operator has it: ${VAR}s for the secrets. */
function configFile(name: string, stack: Stack, extra: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, toYaml({ supergraph: SUPERGRAPH, identity: { issuer: stack.identityIssuer, keys: [{ file: stack.identityKeyFile }] }, auth: auth(), ...extra }));
  return file;
}

beforeAll(async () => {
  ({ privateKey: key } = await generateKeyPair('ES256', { extractable: true }));
  const { d: _d, ...publicJwk } = await exportJWK(key);
  jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...publicJwk, kid: 'k1', alg: 'ES256' }] }));
});

describe('npm run revoke', () => {
  let redis: TestRedis;
  let fleet: Stack;
  let single: Stack;
  beforeAll(async () => {
    redis = await startRedis();
    [fleet, single] = await Promise.all([startInstance(redis.url, { auth: auth() }), startInstance(undefined, { auth: auth() })]);
  });
  afterAll(async () => {
    await Promise.all([fleet?.close(), single?.close()]);
    await redis?.stop();
  });

  it('with store.redis: writes to Redis, and a running instance refuses the subject within a second', async () => {
    const bearer = await token('u7');
    expect((await fleet.query({ query: '{ __typename }' }, { token: bearer })).status).toBe(200);
    const file = configFile('fleet.yaml', fleet, { store: { redis: { url: '${REDIS_URL}', keyPrefix: 'fleet-test:' } } });
    const result = await run(['--config', file, '--sub', 'shop:u7'], { REDIS_URL: redis.url });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ revoked: { kind: 'sub', id: 'shop:u7' }, via: 'redis' });
    expect(await millisUntil(async () => (await fleet.query({ query: '{ __typename }' }, { token: bearer })).status === 401, 1_000)).toBeLessThan(1_000);
  });

  it('without store.redis: asks the admin endpoint of the instance named by metrics.listen', async () => {
    const bearer = await token('u8');
    const port = Number(new URL(single.gateway.metricsUrl!).port);
    const file = configFile('single.yaml', single, { metrics: { listen: { port } }, admin: { token: '${ADMIN_TOKEN}' } });
    const result = await run(['--config', file, '--sub', 'shop:u8'], { ADMIN_TOKEN });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ revoked: { kind: 'sub', id: 'shop:u8' }, shared: false });
    expect((await single.query({ query: '{ __typename }' }, { token: bearer })).status).toBe(401);
  });

  it('refuses bad usage with exit 2 and revokes nothing', async () => {
    const file = configFile('usage.yaml', single, {});
    const before = await metricValue(single, 'frontdesk_revocation_list_entries');
    for (const args of [[], ['--sub', 'u8-without-namespace'], ['--jti', 'a', '--sub', 'shop:b'], ['--user', 'x']]) {
      const result = await run(['--config', file, ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^revoke: /);
    }
    expect((await run(['--config', join(dir, 'missing.yaml'), '--jti', 'x'])).code).toBe(2);
    expect(await metricValue(single, 'frontdesk_revocation_list_entries')).toBe(before);
  });
});
