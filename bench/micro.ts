/**
 * `npm run bench:micro`: the hot path, operation by operation, in one process — verify a token (cached and
 * uncached), mint one identity token, verify one at the subgraph. Medians of several timed batches.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createAuthenticator } from '../gateway/auth/authenticate.ts';
import { parseConfig } from '../gateway/config/load.ts';
import { createIdentityMinter } from '../gateway/identity/mint.ts';
import { createLogger } from '../gateway/log.ts';
import { IDENTITY_HEADER } from '@frontdesk/kit/contract';
import { createIdentityVerifier } from '@frontdesk/kit';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BATCHES = 7;
const dir = mkdtempSync(join(tmpdir(), 'frontdesk-micro-'));
const idp = await generateKeyPair('ES256', { extractable: true });
const jwksFile = join(dir, 'jwks.json');
writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(idp.publicKey)), kid: 'k', alg: 'ES256', use: 'sig' }] }));
const sign = (sub: string) =>
  new SignJWT({ scope: 'products:read', roles: ['customer'] }).setProtectedHeader({ alg: 'ES256', kid: 'k', typ: 'at+jwt' })
    .setIssuer('https://idp').setAudience('shop-api').setSubject(sub).setIssuedAt().setExpirationTime('1h').setJti(randomUUID()).sign(idp.privateKey);

const config = parseConfig(
  {
    supergraph: fileURLToPath(new URL('../schema/supergraph.graphql', import.meta.url)),
    auth: { jwt: [{ issuer: 'https://idp', jwks: jwksFile, audience: ['shop-api'], algorithms: ['ES256'] }] },
    identity: { issuer: 'https://gw', keys: [{ file: join(dir, 'gw.json') }], devKeys: true },
  },
  { env: {} },
);
const log = createLogger({ level: 'silent' });
const cached = createAuthenticator(config.auth, { log });
const uncached = createAuthenticator({ ...config.auth, cache: { maxEntries: 0, ttlMs: 0 } }, { log });
const gatewayKey = await generateKeyPair('EdDSA', { extractable: true });
const mint = createIdentityMinter({ issuer: 'https://gw', key: { kid: 'gw', alg: 'EdDSA', privateKey: gatewayKey.privateKey }, ttlMs: 60_000 });
const verifier = createIdentityVerifier({ subgraph: 'products', issuer: 'https://gw', jwks: { keys: [{ ...(await exportJWK(gatewayKey.publicKey)), kid: 'gw', alg: 'EdDSA' }] } });

const token = await sign('u1');
const request = { rawHeaders: ['authorization', `Bearer ${token}`], search: '' };
const principal = await cached.authenticate(request);
const bound = { query: '{ topProducts(first: 5) { upc name price } }', operationName: null, variables: {} };
const identityToken = await mint(principal, 'products', bound);
const headers = { [IDENTITY_HEADER]: identityToken };

async function measure(name: string, iterations: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < Math.min(200, iterations); i++) await fn();
  const perOp: number[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn();
    perOp.push(Number(process.hrtime.bigint() - start) / 1_000 / iterations);
  }
  perOp.sort((a, b) => a - b);
  const median = perOp[Math.floor(perOp.length / 2)] as number;
  process.stdout.write(`${name.padEnd(44)} ${median.toFixed(1).padStart(8)} µs/op   (min ${(perOp[0] as number).toFixed(1)}, max ${(perOp.at(-1) as number).toFixed(1)})\n`);
  return median;
}

process.stdout.write(`hot path, median of ${BATCHES} batches\n\n`);
await measure('gateway: verify token, cached', 20_000, () => cached.authenticate(request));
await measure('gateway: verify token, uncached (ES256)', 1_000, () => uncached.authenticate(request));
await measure('gateway: mint identity token (EdDSA)', 2_000, () => mint(principal, 'products', bound));
await measure('subgraph: verify identity token', 2_000, () => verifier.verify(headers, bound));
