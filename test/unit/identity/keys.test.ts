import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, generateSecret, jwtVerify, SignJWT, type JWK } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import type { IdentityConfig, IdentityKeyConfig } from '../../../gateway/config/types.ts';
import { KeyLoadError, loadIdentityKeys, type IdentityKeys } from '../../../gateway/identity/keys.ts';
import { createLogger, type Logger } from '../../../gateway/log.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

let dir: string;
let logged: Array<Record<string, unknown>>;
let log: Logger;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'frontdesk-keys-'));
  logged = [];
  log = createLogger({ level: 'debug', write: (line) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
});

function config(keys: Array<Partial<IdentityKeyConfig> & { file: string }>, devKeys = false): IdentityConfig {
  return { issuer: 'https://gateway.test', header: 'frontdesk-identity', ttlMs: 60_000, keys: keys.map((k) => ({ kid: undefined, alg: undefined, ...k })), devKeys };
}

async function privateJwkFile(name: string, alg: 'EdDSA' | 'ES256', kid: string): Promise<{ file: string; jwk: JWK }> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid, alg };
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(jwk));
  return { file, jwk };
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Signs with the loaded signing key and verifies against the published JWKS only. */
async function signsAndVerifies(keys: IdentityKeys): Promise<string | undefined> {
  const token = await new SignJWT({ sub: 'x' })
    .setProtectedHeader({ alg: keys.signing.alg, kid: keys.signing.kid, typ: 'frontdesk-identity+jwt' })
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(keys.signing.privateKey);
  const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys.jwks), { algorithms: ['EdDSA', 'ES256'] });
  return protectedHeader.kid;
}

async function loadError(promise: Promise<unknown>): Promise<KeyLoadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyLoadError);
  return error as KeyLoadError;
}

function expectPublicOnly(keys: IdentityKeys) {
  for (const key of keys.jwks.keys) {
    for (const member of PRIVATE_MEMBERS) expect(key, `${key.kid} has ${member}`).not.toHaveProperty(member);
    // a public key marked for signing (or non-extractable) cannot be imported for verification everywhere
    expect(key).not.toHaveProperty('key_ops');
    expect(key).not.toHaveProperty('ext');
  }
  expect(JSON.stringify(keys.jwks)).not.toMatch(/"d"\s*:/);
}

describe('loadIdentityKeys', () => {
  it('loads a private JWK file (EdDSA and ES256): it signs and its public half is published', async () => {
    for (const alg of ['EdDSA', 'ES256'] as const) {
      const { file, jwk } = await privateJwkFile(`${alg}.json`, alg, `k-${alg}`);
      const keys = await loadIdentityKeys(config([{ file }]), log);
      expect(keys.signing).toMatchObject({ kid: `k-${alg}`, alg });
      expect(await signsAndVerifies(keys)).toBe(`k-${alg}`);
      expect(keys.jwks.keys).toHaveLength(1);
      const { d: _d, ...publicPart } = jwk;
      expect(keys.jwks.keys[0]).toEqual({ ...publicPart, use: 'sig' });
      expectPublicOnly(keys);
    }
  });

  it('takes kid and alg from the config over the file', async () => {
    const { file } = await privateJwkFile('k.json', 'EdDSA', 'in-file');
    const keys = await loadIdentityKeys(config([{ file, kid: 'from-config' }]), log);
    expect(keys.signing.kid).toBe('from-config');
    expect(keys.jwks.keys.map((k) => k.kid)).toEqual(['from-config']);
    expect(await signsAndVerifies(keys)).toBe('from-config');
  });

  it('publishes a public-only JWK but never signs with it; alone it cannot start', async () => {
    const { jwk } = await privateJwkFile('old-private.json', 'EdDSA', 'old');
    const { d: _d, ...publicJwk } = jwk;
    const publicFile = write('old-public.json', JSON.stringify(publicJwk));
    const { file: current } = await privateJwkFile('current.json', 'EdDSA', 'current');

    const keys = await loadIdentityKeys(config([{ file: publicFile }, { file: current }]), log);
    expect(keys.signing.kid).toBe('current');
    expect(keys.jwks.keys.map((k) => k.kid)).toEqual(['old', 'current']);
    expectPublicOnly(keys);

    const error = await loadError(loadIdentityKeys(config([{ file: publicFile }]), log));
    expect(error.message).toMatch(/no key .* private part/);
  });

  it('rotation: with two private keys the first signs and both are published', async () => {
    const { file: next } = await privateJwkFile('next.json', 'ES256', 'next');
    const { file: previous } = await privateJwkFile('previous.json', 'EdDSA', 'previous');
    const keys = await loadIdentityKeys(config([{ file: next }, { file: previous }]), log);
    expect(keys.signing).toMatchObject({ kid: 'next', alg: 'ES256' });
    expect(keys.jwks.keys.map((k) => [k.kid, k.alg])).toEqual([
      ['next', 'ES256'],
      ['previous', 'EdDSA'],
    ]);
    expectPublicOnly(keys);
    expect(await signsAndVerifies(keys)).toBe('next');
    // a token the retiring key signed still verifies against the published set
    const old = await loadIdentityKeys(config([{ file: previous }]), log);
    expect(await signsAndVerifies({ signing: old.signing, jwks: keys.jwks })).toBe('previous');
  });

  it('loads a PKCS#8 PEM key only with kid and alg, and publishes no private member', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const file = write(`${alg}.pem`, await exportPKCS8(privateKey));

      for (const partial of [{}, { kid: 'pem' }, { alg }]) {
        const error = await loadError(loadIdentityKeys(config([{ file, ...partial }]), log));
        expect(error.message).toContain(file);
        expect(error.message).toMatch(/kid and alg/);
      }

      const keys = await loadIdentityKeys(config([{ file, kid: 'pem', alg }]), log);
      expect(keys.signing).toMatchObject({ kid: 'pem', alg });
      expect(await signsAndVerifies(keys)).toBe('pem');
      expect(keys.jwks.keys).toEqual([{ ...(await exportJWK(publicKey)), kid: 'pem', alg, use: 'sig' }]);
      expectPublicOnly(keys);
    }
  });

  it('refuses a missing, unreadable or garbage file with a KeyLoadError naming the file', async () => {
    const missing = join(dir, 'missing.json');
    const unreadable = join(dir, 'a-directory.json');
    mkdirSync(unreadable);
    const garbage = write('garbage.json', 'this is not a key');
    const truncatedPem = write('truncated.pem', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n');
    const publicPem = write('public.pem', await exportSPKI((await generateKeyPair('ES256', { extractable: true })).publicKey));
    const notAKey = write('not-a-key.json', JSON.stringify({ kty: 'OKP', crv: 'Ed25519', kid: 'x', alg: 'EdDSA', x: 'short' }));
    for (const [file, extra] of [
      [missing, {}],
      [unreadable, {}],
      [garbage, {}],
      [truncatedPem, { kid: 'p', alg: 'EdDSA' as const }],
      [publicPem, { kid: 'p', alg: 'ES256' as const }],
      [notAKey, {}],
    ] as const) {
      const error = await loadError(loadIdentityKeys(config([{ file, ...extra }]), log));
      expect(error.message, file).toContain(file);
    }
    // every problem is reported at once, each with its file
    const { file: good } = await privateJwkFile('good.json', 'EdDSA', 'good');
    const error = await loadError(loadIdentityKeys(config([{ file: missing }, { file: good }, { file: garbage }]), log));
    expect(error.message).toContain(missing);
    expect(error.message).toContain(garbage);
    expect(error.message).not.toContain(good);
  });

  it('refuses HS256, RS256 and keys whose type does not fit their alg', async () => {
    const secret = await generateSecret('HS256', { extractable: true });
    const hs = write('hs.json', JSON.stringify({ ...(await exportJWK(secret)), kid: 'hs', alg: 'HS256' }));
    const rsa = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const rs = write('rs.json', JSON.stringify({ ...(await exportJWK(rsa.privateKey)), kid: 'rs', alg: 'RS256' }));
    const rsPem = write('rs.pem', await exportPKCS8(rsa.privateKey));
    const ec = await generateKeyPair('ES256', { extractable: true });
    const mislabelled = write('ec-as-eddsa.json', JSON.stringify({ ...(await exportJWK(ec.privateKey)), kid: 'ec', alg: 'EdDSA' }));
    const secretAsEddsa = write('oct-as-eddsa.json', JSON.stringify({ ...(await exportJWK(secret)), kid: 'oct', alg: 'EdDSA' }));
    for (const [file, extra] of [
      [hs, {}],
      [rs, {}],
      [rsPem, { kid: 'rs', alg: 'RS256' }],
      [mislabelled, {}],
      [secretAsEddsa, {}],
    ] as const) {
      const error = await loadError(loadIdentityKeys(config([{ file, ...(extra as object) }]), log));
      expect(error.message, file).toContain(file);
    }
    const error = await loadError(loadIdentityKeys(config([{ file: hs }]), log));
    expect(error.message).toMatch(/HS256 is not allowed/);
  });

  it('refuses two keys with the same kid', async () => {
    const { file: a } = await privateJwkFile('a.json', 'EdDSA', 'same');
    const { file: b } = await privateJwkFile('b.json', 'EdDSA', 'same');
    const error = await loadError(loadIdentityKeys(config([{ file: a }, { file: b }]), log));
    expect(error.message).toContain(b);
    expect(error.message).toMatch(/kid same/);
  });

  it('devKeys: generates a missing key file with mode 0600, warns, and reuses it on the next start', async () => {
    const file = join(dir, 'nested', 'dev', 'identity.json');
    const keys = await loadIdentityKeys(config([{ file }], true), log);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(keys.signing.alg).toBe('EdDSA');
    expect(keys.signing.kid).toMatch(/^dev-/);
    expect(await signsAndVerifies(keys)).toBe(keys.signing.kid);
    expectPublicOnly(keys);
    expect(logged.some((entry) => entry.level === 'warn' && /DEVELOPMENT/.test(String(entry.msg)) && entry.file === file)).toBe(true);
    expect(JSON.stringify(logged)).not.toContain((JSON.parse(readFileSync(file, 'utf8')) as JWK).d);

    const again = await loadIdentityKeys(config([{ file }], true), log);
    expect(again.signing.kid).toBe(keys.signing.kid);
    expect(again.jwks).toEqual(keys.jwks);
  });

  it('without devKeys, a missing file is not generated', async () => {
    const file = join(dir, 'absent.json');
    await loadError(loadIdentityKeys(config([{ file }]), log));
    expect(() => statSync(file)).toThrow();
  });
});
