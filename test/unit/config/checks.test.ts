/** Checks that span several keys (gateway/config/checks.ts), through the real config loader. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../gateway/config/load.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'frontdesk-checks-'));
const keyFile = join(dir, 'key.json');
writeFileSync(keyFile, '{}');
const jwksFile = join(dir, 'jwks.json');
writeFileSync(jwksFile, '{"keys":[]}');

/** The problems of a config with these issuers, with NODE_ENV as given. */
function problemsWith(jwt: Array<Record<string, unknown>>, nodeEnv?: string): string[] {
  const raw = { supergraph: SUPERGRAPH, auth: { jwt: jwt.map((entry) => ({ audience: ['api'], ...entry })) }, identity: { issuer: 'https://gw', keys: [{ file: keyFile }] } };
  try {
    parseConfig(raw, { env: nodeEnv ? { NODE_ENV: nodeEnv } : {} });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('key sets in production', () => {
  it('refuses a plain-http key set URL, saying what to use instead', () => {
    expect(problemsWith([{ issuer: 'https://idp.example', jwks: 'http://idp.example/jwks' }], 'production')).toEqual([
      'auth.jwt[0].jwks: http://idp.example/jwks is plain http; key sets must be fetched over https when NODE_ENV=production (loopback hosts excepted): use an https URL or a file',
    ]);
  });

  it('refuses OIDC discovery of a plain-http issuer', () => {
    expect(problemsWith([{ issuer: 'https://a.example', jwks: jwksFile }, { issuer: 'http://idp.example/realms/shop' }], 'production')).toEqual([
      'auth.jwt[1].issuer: http://idp.example/realms/shop is plain http and its keys would be found by OIDC discovery over http; when NODE_ENV=production use an https issuer, or set jwks to an https URL or a file',
    ]);
  });

  it('accepts https, files and loopback hosts (127.0.0.0/8, ::1, localhost)', () => {
    const accepted = [
      { issuer: 'https://idp.example' },
      { issuer: 'https://b.example', jwks: 'https://b.example/jwks' },
      { issuer: 'http://c.example', jwks: jwksFile },
      { issuer: 'http://127.0.0.1:4005' },
      { issuer: 'http://d.example', jwks: 'http://127.10.20.30/jwks' },
      { issuer: 'http://e.example', jwks: 'http://[::1]:8080/jwks' },
      { issuer: 'http://localhost:8080/realms/shop' },
    ];
    expect(problemsWith(accepted, 'production')).toEqual([]);
  });

  it('does not take a loopback-looking name for loopback', () => {
    expect(problemsWith([{ issuer: 'http://127.0.0.1.evil.example' }, { issuer: 'http://localhost.evil.example' }], 'production')).toHaveLength(2);
  });

  it('allows plain http outside production', () => {
    expect(problemsWith([{ issuer: 'http://idp.example', jwks: 'http://idp.example/jwks' }, { issuer: 'http://other.example' }])).toEqual([]);
  });
});

describe('issuers', () => {
  it('refuses the same issuer twice and a jwks that is neither http(s) nor a file', () => {
    expect(problemsWith([{ issuer: 'https://idp.example' }, { issuer: 'https://idp.example', jwks: 'ftp://idp.example/jwks' }])).toEqual([
      'auth.jwt[1].jwks: expected an http(s) URL or a file path, got "ftp://idp.example/jwks"',
      'auth.jwt: issuer https://idp.example is listed twice; merge the two entries',
    ]);
  });
});
