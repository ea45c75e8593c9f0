/**
 * Reads gateway.yaml, interpolates ${ENV} references, validates everything at once and freezes the
 * result. Every problem is reported in one ConfigError, each naming its key and what to change.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CLAIM_LIMITS, IDENTITY_ALGORITHMS, LOG_LEVELS, MAX_IDENTITY_TTL_SECONDS } from '../../subgraphs/kit/contract.ts';
import { DEFAULTS } from './defaults.ts';
import { parseDuration } from './duration.ts';
import type { ClaimMapping, GatewayConfig, IdentityKeyConfig, JwtIssuerConfig, SubgraphOverride } from './types.ts';

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(source: string, problems: string[]) {
    super(`invalid gateway config (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Asymmetric JWS algorithms accepted for caller tokens. HS*, none and anything else are refused. */
export const SUPPORTED_JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/**
 * Headers that carry or could spoof identity, or belong to one hop only: never forwarded to subgraphs,
 * whatever `forwardHeaders` says.
 */
const NEVER_FORWARDED = /^(authorization|proxy-authorization|cookie|set-cookie|host|connection|keep-alive|te|trailer|transfer-encoding|upgrade|content-length|content-type|forwarded|via|x-real-ip|x-forwarded-.*|x-original-.*|x-client-.*|x-user.*|x-auth.*|x-identity.*|x-api-key|x-principal.*|x-remote-user|remote-user|x-jwt.*|x-token.*|frontdesk-.*|x-frontdesk-.*)$/;

export interface LoadConfigOptions {
  /** Environment for ${VAR} interpolation and NODE_ENV. */
  env: Readonly<Record<string, string | undefined>>;
}

export function loadConfigFile(path: string, options: LoadConfigOptions): GatewayConfig {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(absolute, [`cannot read the config file: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(absolute, [`not valid YAML: ${(error as Error).message}`]);
  }
  return parseConfig(raw, { ...options, source: absolute });
}

/** Validates a parsed config object; `source` (the file) anchors relative paths. */
export function parseConfig(raw: unknown, options: LoadConfigOptions & { source?: string }): GatewayConfig {
  const problems: string[] = [];
  const baseDir = options.source ? dirname(options.source) : process.cwd();
  const input = interpolate(raw ?? {}, '', options.env, problems);
  const production = options.env.NODE_ENV === 'production';
  const r = new Reader(problems);

  const root = r.object(input, '');
  r.known(root, '', ['listen', 'supergraph', 'subgraphs', 'subgraphDefaults', 'forwardHeaders', 'limits', 'auth', 'identity', 'logLevel', 'shutdownGrace']);

  const listenRaw = r.object(root.listen ?? {}, 'listen');
  r.known(listenRaw, 'listen', ['host', 'port']);
  const listen = {
    host: r.string(listenRaw.host ?? DEFAULTS['listen.host'], 'listen.host'),
    port: r.integer(listenRaw.port ?? DEFAULTS['listen.port'], 'listen.port', 0, 65_535),
  };

  const supergraph = resolve(baseDir, r.string(root.supergraph ?? DEFAULTS.supergraph, 'supergraph'));
  if (!existsSync(supergraph)) problems.push(`supergraph: file ${supergraph} does not exist (run \`npm run compose\`)`);

  const defaultsRaw = r.object(root.subgraphDefaults ?? {}, 'subgraphDefaults');
  r.known(defaultsRaw, 'subgraphDefaults', ['timeout', 'maxConnections']);
  const subgraphDefaults = {
    timeoutMs: r.duration(defaultsRaw.timeout ?? DEFAULTS['subgraphDefaults.timeout'], 'subgraphDefaults.timeout'),
    maxConnections: r.integer(defaultsRaw.maxConnections ?? DEFAULTS['subgraphDefaults.maxConnections'], 'subgraphDefaults.maxConnections', 1, 10_000),
  };

  const subgraphs: Record<string, SubgraphOverride> = {};
  for (const [name, value] of Object.entries(r.object(root.subgraphs ?? {}, 'subgraphs'))) {
    const key = `subgraphs.${name}`;
    const entry = r.object(value, key);
    r.known(entry, key, ['url', 'timeout']);
    subgraphs[name] = {
      url: entry.url === undefined ? undefined : r.url(entry.url, `${key}.url`),
      timeoutMs: entry.timeout === undefined ? undefined : r.duration(entry.timeout, `${key}.timeout`),
    };
  }

  const identityRaw = r.object(root.identity ?? {}, 'identity');
  r.known(identityRaw, 'identity', ['issuer', 'header', 'ttl', 'keys', 'devKeys']);
  const identityHeader = r.string(identityRaw.header ?? DEFAULTS['identity.header'], 'identity.header').toLowerCase();
  if (!/^[a-z0-9-]+$/.test(identityHeader)) problems.push(`identity.header: "${identityHeader}" is not a valid header name`);

  const forwardHeaders = r.stringList(root.forwardHeaders ?? DEFAULTS.forwardHeaders, 'forwardHeaders').map((h) => h.toLowerCase());
  for (const header of forwardHeaders) {
    if (NEVER_FORWARDED.test(header) || header === identityHeader) {
      problems.push(`forwardHeaders: "${header}" carries identity or is hop-by-hop and is never forwarded; remove it`);
    }
  }

  const limitsRaw = r.object(root.limits ?? {}, 'limits');
  r.known(limitsRaw, 'limits', ['bodyBytes', 'depth', 'aliases', 'tokens', 'directives', 'cost', 'batchedOperations']);
  const limit = (key: 'depth' | 'aliases' | 'tokens' | 'directives' | 'cost' | 'batchedOperations', min: number, max: number) =>
    r.integer(limitsRaw[key] ?? DEFAULTS[`limits.${key}`], `limits.${key}`, min, max);
  const limits = {
    bodyBytes: r.integer(limitsRaw.bodyBytes ?? DEFAULTS['limits.bodyBytes'], 'limits.bodyBytes', 1_024, 100 * 1_048_576),
    depth: limit('depth', 1, 100),
    aliases: limit('aliases', 0, 1_000),
    tokens: limit('tokens', 10, 100_000),
    directives: limit('directives', 0, 1_000),
    cost: limit('cost', 1, 1_000_000),
    batchedOperations: limit('batchedOperations', 0, 100),
  };

  const authRaw = r.object(root.auth ?? {}, 'auth');
  r.known(authRaw, 'auth', ['anonymous', 'realm', 'maxTokenBytes', 'cache', 'jwt']);
  const cacheRaw = r.object(authRaw.cache ?? {}, 'auth.cache');
  r.known(cacheRaw, 'auth.cache', ['maxEntries', 'ttl']);
  const realm = r.string(authRaw.realm ?? DEFAULTS['auth.realm'], 'auth.realm');
  if (/["\\\r\n]/.test(realm)) problems.push('auth.realm: must not contain quotes, backslashes or line breaks');
  const jwtList = r.array(authRaw.jwt ?? [], 'auth.jwt');
  const jwt = jwtList.map((entry, index) => readIssuer(r, entry, `auth.jwt[${index}]`, baseDir));
  const seen = new Set<string>();
  for (const issuer of jwt) {
    if (seen.has(issuer.issuer)) problems.push(`auth.jwt: issuer ${issuer.issuer} is listed twice`);
    seen.add(issuer.issuer);
  }
  const auth = {
    anonymous: r.boolean(authRaw.anonymous ?? DEFAULTS['auth.anonymous'], 'auth.anonymous'),
    realm,
    // Node refuses request headers over 16 KiB in all (431) before any of this runs.
    maxTokenBytes: r.integer(authRaw.maxTokenBytes ?? DEFAULTS['auth.maxTokenBytes'], 'auth.maxTokenBytes', 256, 16_384),
    cache: {
      maxEntries: r.integer(cacheRaw.maxEntries ?? DEFAULTS['auth.cache.maxEntries'], 'auth.cache.maxEntries', 0, 1_000_000),
      ttlMs: r.duration(cacheRaw.ttl ?? DEFAULTS['auth.cache.ttl'], 'auth.cache.ttl'),
    },
    jwt,
  };
  if (!auth.anonymous && jwt.length === 0) problems.push('auth: anonymous is false but no auth.jwt issuer is configured, so every request would be refused');

  const devKeys = r.boolean(identityRaw.devKeys ?? DEFAULTS['identity.devKeys'], 'identity.devKeys');
  if (devKeys && production) problems.push('identity.devKeys: generated development keys are refused when NODE_ENV=production; provision keys and list them in identity.keys');
  const keys: IdentityKeyConfig[] = [];
  if (identityRaw.keys === undefined) problems.push('identity.keys: required — list at least one signing key file (see docs/identity-token.md)');
  r.array(identityRaw.keys ?? [], 'identity.keys').forEach((value, index) => {
    const key = `identity.keys[${index}]`;
    const entry = r.object(value, key);
    r.known(entry, key, ['file', 'kid', 'alg']);
    const file = resolve(baseDir, r.string(entry.file, `${key}.file`));
    if (!devKeys && !existsSync(file)) problems.push(`${key}.file: ${file} does not exist`);
    const alg = entry.alg === undefined ? undefined : r.oneOf(entry.alg, `${key}.alg`, IDENTITY_ALGORITHMS);
    keys.push({ file, kid: entry.kid === undefined ? undefined : r.string(entry.kid, `${key}.kid`), alg });
  });
  if (identityRaw.keys !== undefined && keys.length === 0) problems.push('identity.keys: list at least one signing key file');
  const identity = {
    issuer: identityRaw.issuer === undefined ? (problems.push('identity.issuer: required — the iss subgraphs expect, e.g. https://gateway.example'), '') : r.string(identityRaw.issuer, 'identity.issuer'),
    header: identityHeader,
    ttlMs: r.duration(identityRaw.ttl ?? DEFAULTS['identity.ttl'], 'identity.ttl'),
    keys,
    devKeys,
  };
  if (identity.ttlMs > MAX_IDENTITY_TTL_SECONDS * 1000) problems.push(`identity.ttl: at most ${MAX_IDENTITY_TTL_SECONDS / 60}m; identity tokens are per request and should live seconds`);

  const logLevel = r.oneOf(root.logLevel ?? DEFAULTS.logLevel, 'logLevel', LOG_LEVELS);
  const shutdownGraceMs = r.duration(root.shutdownGrace ?? DEFAULTS.shutdownGrace, 'shutdownGrace');

  if (problems.length > 0) throw new ConfigError(options.source ?? 'inline config', problems);
  return deepFreeze({
    source: options.source,
    production,
    listen,
    supergraph,
    subgraphs,
    subgraphDefaults,
    forwardHeaders,
    limits,
    auth,
    identity,
    logLevel,
    shutdownGraceMs,
  });
}

function readIssuer(r: Reader, value: unknown, key: string, baseDir: string): JwtIssuerConfig {
  const entry = r.object(value, key);
  r.known(entry, key, ['issuer', 'jwks', 'audience', 'algorithms', 'typ', 'clockTolerance', 'maxLifetime', 'claims', 'principalNamespace', 'jwksTimeout', 'jwksCooldown', 'jwksMaxAge']);
  const issuer = r.string(entry.issuer, `${key}.issuer`);
  let jwks: JwtIssuerConfig['jwks'];
  if (entry.jwks === undefined) {
    const url = r.url(issuer, `${key}.issuer (used for OIDC discovery because jwks is not set)`);
    jwks = { kind: 'discovery', url: `${url.replace(/\/$/, '')}/.well-known/openid-configuration` };
  } else {
    const text = r.string(entry.jwks, `${key}.jwks`);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) jwks = { kind: 'url', url: r.url(text, `${key}.jwks`) };
    else {
      const path = isAbsolute(text) ? text : resolve(baseDir, text);
      if (!existsSync(path)) r.problem(`${key}.jwks: file ${path} does not exist`);
      jwks = { kind: 'file', path };
    }
  }
  const audience = r.stringList(entry.audience, `${key}.audience`);
  if (entry.audience !== undefined && audience.length === 0) r.problem(`${key}.audience: list at least one audience`);
  const algorithms = r.stringList(entry.algorithms ?? DEFAULTS['auth.jwt[].algorithms'], `${key}.algorithms`);
  for (const alg of algorithms) {
    if (!SUPPORTED_JWT_ALGORITHMS.includes(alg)) {
      r.problem(`${key}.algorithms: "${alg}" is not accepted; use asymmetric algorithms only (${SUPPORTED_JWT_ALGORITHMS.join(', ')})`);
    }
  }
  const claimsRaw = r.object(entry.claims ?? {}, `${key}.claims`);
  r.known(claimsRaw, `${key}.claims`, ['subject', 'scopes', 'roles', 'tenant', 'clientId']);
  const d = DEFAULTS['auth.jwt[].claims'];
  const list = (v: unknown, fallback: readonly string[], k: string) => (v === undefined ? [...fallback] : typeof v === 'string' ? [v] : r.stringList(v, k));
  const claims: ClaimMapping = {
    subject: r.string(claimsRaw.subject ?? d.subject, `${key}.claims.subject`),
    scopes: list(claimsRaw.scopes, d.scopes, `${key}.claims.scopes`),
    roles: list(claimsRaw.roles, d.roles, `${key}.claims.roles`),
    tenant: claimsRaw.tenant === undefined ? undefined : r.string(claimsRaw.tenant, `${key}.claims.tenant`),
    clientId: list(claimsRaw.clientId, d.clientId, `${key}.claims.clientId`),
  };
  const principalNamespace = r.string(entry.principalNamespace ?? issuer, `${key}.principalNamespace`);
  if (principalNamespace.length > CLAIM_LIMITS.issuer) r.problem(`${key}.principalNamespace (default: the issuer): at most ${CLAIM_LIMITS.issuer} characters`);
  const clockToleranceMs = r.duration(entry.clockTolerance ?? DEFAULTS['auth.jwt[].clockTolerance'], `${key}.clockTolerance`);
  if (clockToleranceMs > 300_000) r.problem(`${key}.clockTolerance: at most 5m; fix the clocks instead`);
  return {
    issuer,
    jwks,
    audience: audience.length > 0 ? audience : (r.problem(`${key}.audience: required — the aud your tokens are issued for (never taken from the request)`), []),
    algorithms,
    typ: entry.typ === undefined ? undefined : r.string(entry.typ, `${key}.typ`),
    clockToleranceMs,
    maxLifetimeMs: r.duration(entry.maxLifetime ?? DEFAULTS['auth.jwt[].maxLifetime'], `${key}.maxLifetime`),
    claims,
    principalNamespace,
    jwksTimeoutMs: r.duration(entry.jwksTimeout ?? DEFAULTS['auth.jwt[].jwksTimeout'], `${key}.jwksTimeout`),
    jwksCooldownMs: r.duration(entry.jwksCooldown ?? DEFAULTS['auth.jwt[].jwksCooldown'], `${key}.jwksCooldown`),
    jwksMaxAgeMs: r.duration(entry.jwksMaxAge ?? DEFAULTS['auth.jwt[].jwksMaxAge'], `${key}.jwksMaxAge`),
  };
}

/** Typed readers that record a problem and return a placeholder, so validation goes on to the end. */
class Reader {
  constructor(private readonly problems: string[]) {}
  problem(message: string): void {
    this.problems.push(message);
  }
  object(value: unknown, key: string): Record<string, unknown> {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    this.problem(`${key || 'config'}: expected a mapping, got ${describe(value)}`);
    return {};
  }
  array(value: unknown, key: string): unknown[] {
    if (Array.isArray(value)) return value;
    this.problem(`${key}: expected a list, got ${describe(value)}`);
    return [];
  }
  string(value: unknown, key: string): string {
    if (typeof value === 'string' && value.length > 0) return value;
    this.problem(`${key}: expected a non-empty string, got ${describe(value)}`);
    return '';
  }
  stringList(value: unknown, key: string): string[] {
    if (value === undefined) return [];
    const items = this.array(value, key);
    return items.map((item, index) => this.string(item, `${key}[${index}]`));
  }
  boolean(value: unknown, key: string): boolean {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true'; // from ${ENV} interpolation
    this.problem(`${key}: expected true or false, got ${describe(value)}`);
    return false;
  }
  integer(value: unknown, key: string, min: number, max: number): number {
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof number === 'number' && Number.isInteger(number) && number >= min && number <= max) return number;
    this.problem(`${key}: expected an integer from ${min} to ${max}, got ${describe(value)}`);
    return min;
  }
  duration(value: unknown, key: string): number {
    const ms = parseDuration(value);
    if (ms !== undefined) return ms;
    this.problem(`${key}: expected a duration with a unit such as "500ms", "30s", "10m" or "1h", got ${describe(value)}`);
    return 0;
  }
  url(value: unknown, key: string): string {
    const text = this.string(value, key);
    try {
      const url = new URL(text);
      if (url.protocol === 'http:' || url.protocol === 'https:') return text;
    } catch {
      // fall through
    }
    if (text) this.problem(`${key}: expected an http(s) URL, got "${text}"`);
    return text;
  }
  oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.problem(`${key}: expected one of ${allowed.join(', ')}, got ${describe(value)}`);
    return allowed[0] as T;
  }
  /** Reports keys that are not in `allowed`, with a suggestion for near misses. */
  known(object: Record<string, unknown>, key: string, allowed: readonly string[]): void {
    for (const name of Object.keys(object)) {
      if (allowed.includes(name)) continue;
      const near = allowed.find((candidate) => editDistance(candidate.toLowerCase(), name.toLowerCase()) <= 2);
      this.problem(`${key ? `${key}.` : ''}${name}: unknown key${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${allowed.join(', ')}`);
    }
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Replaces ${VAR} and ${VAR:-default} in string values (never in keys, never re-parsed as YAML). */
function interpolate(value: unknown, key: string, env: LoadConfigOptions['env'], problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${key || 'config'}: environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, `${key}[${index}]`, env, problems));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) out[name] = interpolate(item, key ? `${key}.${name}` : name, env, problems);
    return out;
  }
  return value;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
