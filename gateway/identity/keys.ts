/**
 * The gateway's identity-signing keys: loaded from files at boot, the first private key signs, every key
 * is published at /.well-known/jwks.json so subgraphs keep verifying tokens signed by a retiring key.
 * Any problem refuses to start, naming the file.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, importPKCS8, type CryptoKey, type JSONWebKeySet, type JWK, type KeyObject } from 'jose';
import { IDENTITY_ALGORITHMS, type IdentityAlgorithm } from '@frontdesk/kit/contract';
import type { IdentityConfig } from '../config/types.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface SigningKey {
  kid: string;
  alg: IdentityAlgorithm;
  privateKey: CryptoKey | KeyObject | Uint8Array;
}

export interface IdentityKeys {
  signing: SigningKey;
  /** Public keys only. */
  jwks: JSONWebKeySet;
}

export class KeyLoadError extends StartupError {
  constructor(message: string) {
    super('IDENTITY_KEYS_UNUSABLE', message);
    this.name = 'KeyLoadError';
  }
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export async function loadIdentityKeys(config: IdentityConfig, log: Logger): Promise<IdentityKeys> {
  const problems: string[] = [];
  let signing: SigningKey | undefined;
  const published: JWK[] = [];
  for (const entry of config.keys) {
    if (!existsSync(entry.file) && config.devKeys) await generateDevKey(entry.file, log);
    try {
      const { publicJwk, privateKey } = await readKey(entry.file, entry.kid, entry.alg);
      if (published.some((jwk) => jwk.kid === publicJwk.kid)) throw new Error(`kid ${publicJwk.kid} is used by two keys`);
      published.push(publicJwk);
      if (!signing && privateKey) signing = { kid: publicJwk.kid as string, alg: publicJwk.alg as IdentityAlgorithm, privateKey };
    } catch (error) {
      problems.push(`${entry.file}: ${(error as Error).message}`);
    }
  }
  if (problems.length === 0 && !signing) problems.push('no key in identity.keys has a private part, so nothing can sign identity tokens');
  if (problems.length > 0) throw new KeyLoadError(`cannot load identity signing keys:\n  - ${problems.join('\n  - ')}`);
  return { signing: signing as SigningKey, jwks: { keys: published } };
}

async function readKey(file: string, kid: string | undefined, alg: string | undefined) {
  const text = readFileSync(file, 'utf8');
  if (text.includes('-----BEGIN')) {
    if (!kid || !alg) throw new Error('a PEM key needs kid and alg in identity.keys');
    checkAlg(alg);
    const privateKey = await importPKCS8(text, alg, { extractable: true });
    const publicJwk = withoutPrivateMembers(await exportJWK(privateKey));
    return { publicJwk: { ...publicJwk, kid, alg, use: 'sig' }, privateKey };
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw new Error('neither a PEM key nor a JWK (JSON)');
  }
  const effectiveKid = kid ?? jwk.kid;
  const effectiveAlg = alg ?? jwk.alg;
  if (!effectiveKid) throw new Error('the JWK has no kid (set it in the file or in identity.keys)');
  if (!effectiveAlg) throw new Error('the JWK has no alg (set it in the file or in identity.keys)');
  checkAlg(effectiveAlg);
  const publicJwk = withoutPrivateMembers(jwk);
  Object.assign(publicJwk, { kid: effectiveKid, alg: effectiveAlg, use: 'sig' });
  delete publicJwk.key_ops;
  // Importing the public part proves the key material is usable for this alg.
  await importJWK(publicJwk, effectiveAlg);
  const privateKey = jwk.d ? await importJWK(jwk, effectiveAlg) : undefined;
  return { publicJwk, privateKey };
}

function withoutPrivateMembers(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name))) as JWK;
}

function checkAlg(alg: string): asserts alg is IdentityAlgorithm {
  if (!(IDENTITY_ALGORITHMS as readonly string[]).includes(alg)) throw new Error(`alg ${alg} is not allowed; use ${IDENTITY_ALGORITHMS.join(' or ')}`);
}

/** Writes a new EdDSA private JWK, readable by the owner only. */
export async function generateDevKey(file: string, log: Logger): Promise<void> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: `dev-${randomBytes(6).toString('hex')}`, alg: 'EdDSA', use: 'sig' };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  log.warn('generated a DEVELOPMENT identity signing key; never use it in production', { file, kid: jwk.kid });
}
