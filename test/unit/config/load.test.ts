import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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
    expect(config.limits.bodyBytes).toBe(1_048_576);
    expect(config.logLevel).toBe('info');
    expect(config.shutdownGraceMs).toBe(10_000);
    expect(Object.isFrozen(config.auth.cache)).toBe(true);
    expect(() => ((config.listen as { port: number }).port = 1)).toThrow(TypeError);
  });

  it('takes an empty key (YAML null) for an absent one', () => {
    const config = parseConfig({ ...minimal, listen: null, auth: { realm: null, cache: null } }, { env: {} });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 4000 });
    expect(config.auth).toMatchObject({ realm: 'frontdesk', cache: { maxEntries: 10_000, ttlMs: 60_000 } });
  });

  it('gives the limits once hidden in code their former values as defaults', () => {
    const config = parseConfig(minimal, { env: {} });
    expect(config.server).toMatchObject({ keepAliveTimeoutMs: 65_000, requestTimeoutMs: 60_000, maxHeaderBytes: 16_384 });
    expect(config.subgraphDefaults).toMatchObject({ timeoutMs: 10_000, maxConnections: 64, keepAliveTimeoutMs: 30_000, maxResponseBytes: 32 * 1_048_576 });
  });

  it('reads the new limits and holds them to their bounds', () => {
    const config = parseConfig({ ...minimal, server: { requestTimeout: '2m', maxHeaderBytes: '32768' }, subgraphDefaults: { keepAliveTimeout: '4s', maxResponseBytes: 1_048_576 } }, { env: {} });
    expect(config.server).toMatchObject({ keepAliveTimeoutMs: 65_000, requestTimeoutMs: 120_000, maxHeaderBytes: 32_768 });
    expect(config.subgraphDefaults).toMatchObject({ keepAliveTimeoutMs: 4_000, maxResponseBytes: 1_048_576 });
    expect(problemsOf({ ...minimal, server: { keepAliveTimeout: '0s', requestTimeout: 60 }, subgraphDefaults: { maxResponseBytes: 100 } })).toEqual([
      'server.keepAliveTimeout: at least 1s, got string "0s"',
      'server.requestTimeout: expected a duration with a unit such as "500ms", "30s", "10m" or "1h", got number 60',
      'subgraphDefaults.maxResponseBytes: expected an integer from 1024 to 1073741824 bytes, got number 100',
    ]);
  });

  it('bounds every stage of a request in time by default, the head within 15 s (issue 16)', () => {
    const config = parseConfig(minimal, { env: {} });
    expect(config.server).toEqual({ keepAliveTimeoutMs: 65_000, requestTimeoutMs: 60_000, headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000, deadlineMs: 30_000, maxHeaderBytes: 16_384 });
    expect(config.server.headersTimeoutMs).toBeLessThanOrEqual(15_000);
    expect(config.subgraphDefaults).toMatchObject({ concurrency: undefined, queueTimeoutMs: 250, breaker: { failures: 5, coolDownMs: 5_000 }, dedup: true });
    expect(config.admission).toMatchObject({ queueTimeoutMs: 1_000, retryAfterMs: 1_000 });
  });

  it('derives the admission bound from the cores this process may use, the queue from the bound', () => {
    const derived = parseConfig(minimal, { env: {} }).admission;
    expect(derived.maxInFlight).toBe(32 * availableParallelism());
    expect(derived.queue).toBe(4 * derived.maxInFlight);
    expect(parseConfig({ ...minimal, admission: { maxInFlight: 3 } }, { env: {} }).admission).toMatchObject({ maxInFlight: 3, queue: 12 });
    expect(parseConfig({ ...minimal, admission: { maxInFlight: 3, queue: 0 } }, { env: {} }).admission).toMatchObject({ maxInFlight: 3, queue: 0 });
    expect(problemsOf({ ...minimal, admission: { maxInFlight: 0, queueTimeout: '0ms' } })).toEqual([
      'admission.maxInFlight: expected an integer from 1 to 100000, got number 0',
      'admission.queueTimeout: at least 1ms, got string "0ms"',
    ]);
  });

  it('refuses a head timeout longer than the whole request timeout (Node would refuse it at listen)', () => {
    expect(problemsOf({ ...minimal, server: { requestTimeout: '5s', headersTimeout: '10s' } })).toEqual([
      'server.headersTimeout: 10000ms is longer than server.requestTimeout (5000ms), which covers the headers too; lower it or raise server.requestTimeout',
    ]);
  });

  it('refuses a token limit that cannot fit in the header limit', () => {
    expect(problemsOf({ ...minimal, server: { maxHeaderBytes: 8_192 } })).toEqual([
      'auth.maxTokenBytes: 8192 does not fit in server.maxHeaderBytes (8192); lower it or raise server.maxHeaderBytes',
    ]);
  });

  it('refreshes issuer key sets after 5 minutes unless told otherwise', () => {
    const issuer = { issuer: 'https://idp.example', jwks: 'https://idp.example/jwks', audience: ['api'] };
    expect(parseConfig({ ...minimal, auth: { jwt: [issuer] } }, { env: {} }).auth.jwt[0]?.jwksMaxAgeMs).toBe(300_000);
    expect(parseConfig({ ...minimal, auth: { jwt: [{ ...issuer, jwksMaxAge: '1m' }] } }, { env: {} }).auth.jwt[0]?.jwksMaxAgeMs).toBe(60_000);
  });

  it('names a misspelt key and suggests the right one', () => {
    expect(problemsOf({ ...minimal, lisen: { port: 1 } })).toEqual([expect.stringMatching(/^lisen: unknown key \(did you mean "listen"\?\)/)]);
    expect(problemsOf({ ...minimal, auth: { jwt: [{ isuer: 'https://idp', audience: ['a'] }] } })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^auth\.jwt\[0\]\.isuer: unknown key \(did you mean "issuer"\?\)/), expect.stringMatching(/^auth\.jwt\[0\]\.issuer: required — the exact `iss`/)]),
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
        expect.stringMatching(/^auth\.jwt\[0\]\.algorithms\[0\]: expected one of RS256, .*, got string "HS256"; use asymmetric algorithms only$/),
        expect.stringMatching(/^auth\.jwt\[0\]\.algorithms\[1\]: expected one of RS256, .*, got string "none"; use asymmetric algorithms only$/),
        'auth.jwt[0].clockTolerance: at most 5m, got string "1h"; fix the clocks instead',
        expect.stringMatching(/^identity\.keys: required/),
        expect.stringMatching(/^identity\.issuer: required/),
        'identity.ttl: at most 10m, got string "1h"; identity tokens are per request and should live seconds',
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

  it('leaves a key unset when its whole value is ${VAR:-} and VAR is unset or empty', () => {
    const raw = { ...minimal, listen: { host: '${HOST:-}', port: '${PORT:-}' }, store: { redis: { url: '${REDIS_URL:-}' } } };
    const off = parseConfig(raw, { env: { HOST: '' } });
    expect(off.listen).toMatchObject({ host: '127.0.0.1', port: 4000 });
    expect(off.store).toBeUndefined();
    const on = parseConfig(raw, { env: { HOST: '0.0.0.0', PORT: '4010', REDIS_URL: 'redis://127.0.0.1:6380' } });
    expect(on.listen).toMatchObject({ host: '0.0.0.0', port: 4010 });
    expect(on.store?.redis.url).toBe('redis://127.0.0.1:6380');
    // Only the whole value: inside a longer string an empty default stays an empty string.
    expect(problemsOf({ ...minimal, tracing: { otlp: { endpoint: 'http://${HOST:-}' } } })).toEqual([expect.stringMatching(/^tracing\.otlp\.endpoint: expected an http/)]);
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
