import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../../gateway/config/load.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'frontdesk-config-'));
const keyFile = join(dir, 'key.json');
writeFileSync(keyFile, '{}');
const minimal = { supergraph: SUPERGRAPH, identity: { issuer: 'https://gw', keys: [{ file: keyFile }] } };

function problemsOf(raw: unknown, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(raw, { env });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('gateway config', () => {
  it('applies documented defaults and freezes the result', () => {
    const config = parseConfig(minimal, { env: {} });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 4000 });
    expect(config.auth).toMatchObject({ anonymous: true, realm: 'frontdesk', maxTokenBytes: 8192, cache: { maxEntries: 10_000, ttlMs: 60_000 } });
    expect(config.identity).toMatchObject({ header: 'frontdesk-identity', ttlMs: 60_000, devKeys: false });
    expect(config.forwardHeaders).toContain('traceparent');
    expect(Object.isFrozen(config.auth.cache)).toBe(true);
    expect(() => ((config.listen as { port: number }).port = 1)).toThrow(TypeError);
  });

  it('names a misspelt key and suggests the right one', () => {
    expect(problemsOf({ ...minimal, lisen: { port: 1 } })).toEqual([expect.stringMatching(/^lisen: unknown key \(did you mean "listen"\?\)/)]);
    expect(problemsOf({ ...minimal, auth: { jwt: [{ isuer: 'https://idp', audience: ['a'] }] } })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^auth\.jwt\[0\]\.isuer: unknown key \(did you mean "issuer"\?\)/), expect.stringMatching(/^auth\.jwt\[0\]\.issuer: expected a non-empty string/)]),
    );
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      listen: { port: 'eighty' },
      supergraph: '/nonexistent/supergraph.graphql',
      forwardHeaders: ['authorization', 'X-User-Id', 'traceparent', 'frontdesk-identity'],
      auth: { anonymous: 'maybe', cache: { ttl: 60 }, jwt: [{ issuer: 'https://idp', audience: ['api'], algorithms: ['HS256', 'none', 'ES256'], clockTolerance: '1h' }] },
      identity: { ttl: '1h' },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^listen\.port: expected an integer/),
        expect.stringMatching(/^supergraph: file .* does not exist/),
        expect.stringMatching(/^forwardHeaders: "authorization" carries identity/),
        expect.stringMatching(/^forwardHeaders: "x-user-id" carries identity/),
        expect.stringMatching(/^forwardHeaders: "frontdesk-identity" carries identity/),
        expect.stringMatching(/^auth\.anonymous: expected true or false/),
        expect.stringMatching(/^auth\.cache\.ttl: expected a duration with a unit/),
        expect.stringMatching(/^auth\.jwt\[0\]\.algorithms: "HS256" is not accepted/),
        expect.stringMatching(/^auth\.jwt\[0\]\.algorithms: "none" is not accepted/),
        expect.stringMatching(/^auth\.jwt\[0\]\.clockTolerance: at most 5m/),
        expect.stringMatching(/^identity\.keys: required/),
        expect.stringMatching(/^identity\.issuer: required/),
        expect.stringMatching(/^identity\.ttl: at most 10m/),
      ]),
    );
    expect(problems).toHaveLength(13);
  });

  it('interpolates ${VAR} and ${VAR:-default} in values, and names unset variables', () => {
    const config = parseConfig({ ...minimal, listen: { host: '${HOST:-0.0.0.0}', port: '${PORT}' } }, { env: { PORT: '8080' } });
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(problemsOf({ ...minimal, identity: { ...minimal.identity, issuer: '${GATEWAY_ISSUER}' } })).toEqual([
      'identity.issuer: environment variable GATEWAY_ISSUER is not set (write ${GATEWAY_ISSUER:-default} to give a default)',
      'identity.issuer: expected a non-empty string, got string ""',
    ]);
  });

  it('requires an audience from config and refuses anonymous: false without an issuer', () => {
    expect(problemsOf({ ...minimal, auth: { jwt: [{ issuer: 'https://idp' }] } })).toEqual([expect.stringMatching(/^auth\.jwt\[0\]\.audience: required/)]);
    expect(problemsOf({ ...minimal, auth: { anonymous: false } })).toEqual([expect.stringMatching(/^auth: anonymous is false but no auth\.jwt issuer/)]);
  });

  it('uses OIDC discovery when jwks is omitted, and resolves a jwks file relative to the config', () => {
    const config = parseConfig({ ...minimal, auth: { jwt: [{ issuer: 'https://idp.example/realms/shop/', audience: ['api'] }] } }, { env: {} });
    expect(config.auth.jwt[0]?.jwks).toEqual({ kind: 'discovery', url: 'https://idp.example/realms/shop/.well-known/openid-configuration' });
  });

  it('refuses generated dev keys in production', () => {
    expect(problemsOf({ ...minimal, identity: { ...minimal.identity, devKeys: true } }, { NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(/^identity\.devKeys: generated development keys are refused when NODE_ENV=production/),
    ]);
  });

  it('reads YAML files and reports unreadable or invalid ones', () => {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, `supergraph: ${SUPERGRAPH}\nidentity:\n  issuer: https://gw\n  keys: [{ file: key.json }]\n`);
    expect(loadConfigFile(file, { env: {} }).identity.keys[0]?.file).toBe(keyFile);
    writeFileSync(file, 'listen: [unclosed');
    expect(() => loadConfigFile(file, { env: {} })).toThrow(/not valid YAML/);
    expect(() => loadConfigFile(join(dir, 'missing.yaml'), { env: {} })).toThrow(/cannot read the config file/);
  });
});
