/**
 * Writes the identity token conformance vectors (conformance/README.md): jwks.json and vectors.json, from
 * the committed test keys in signing-keys.json. `npm run conformance:generate`; `-- --check` exits 1 when
 * the committed files differ from what it would write.
 *
 * Deterministic: Ed25519 and RSASSA-PKCS1-v1_5 signatures are; ECDSA ones are not (a fresh nonce each
 * time), so an ES256 token whose signing input is unchanged is taken over from the committed vectors.json.
 * Tokens are assembled by hand (node:crypto), not with jose, so they can break any rule of the spec.
 */
import { createHmac, createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CLAIM_LIMITS,
  IDENTITY_TOKEN_TYPE,
  IDENTITY_TOKEN_VERSION,
  MAX_IDENTITY_TOKEN_BYTES,
  MAX_IDENTITY_TTL_SECONDS,
  principalId,
  requestBinding,
  type RefusalReason,
} from '../subgraphs/kit/contract.ts';

const DIR = fileURLToPath(new URL('.', import.meta.url));
const ISSUER = 'https://gateway.conformance.example';
const AUDIENCE = 'accounts';
const IDP = 'https://idp.conformance.example';
/** 2026-01-01T00:00:00Z */
const NOW = 1_767_225_600;
const TOLERANCE = 5;
/** Keys of signing-keys.json published in jwks.json; the others sign tokens the JWKS cannot verify. */
const PUBLISHED = ['gw-2026-01', 'gw-2025-12', 'gw-es256', 'gw-rsa'];

export interface Vector {
  name: string;
  /** The rule of docs/identity-token.md the vector exercises. */
  rule: string;
  /** The identity header's value; null when the request has none. */
  token: string | null;
  /** The subgraph request body, exactly as received. */
  body: string;
  expected: { verdict: 'accept'; claims: Record<string, unknown> } | { verdict: 'refuse'; reason: RefusalReason };
}

export interface VectorFile {
  description: string;
  version: number;
  /** The verifier's clock, seconds since the epoch. */
  now: number;
  clockToleranceSeconds: number;
  issuer: string;
  audience: string;
  jwks: string;
  vectors: Vector[];
}

interface PrivateJwk extends Record<string, unknown> {
  kid: string;
  alg: string;
}

type Signer = { kid: string } | { hmac: Uint8Array } | { none: string };

const b64url = (data: string | Uint8Array) => Buffer.from(data).toString('base64url');

/** Builds every vector; `previous` supplies ES256 signatures for unchanged signing inputs. */
export function buildVectors(previous?: VectorFile): { jwks: { keys: Record<string, unknown>[] }; file: VectorFile } {
  const privateJwks = (JSON.parse(readFileSync(`${DIR}/signing-keys.json`, 'utf8')) as { keys: PrivateJwk[] }).keys;
  const keys = new Map<string, { jwk: PrivateJwk; key: KeyObject }>(privateJwks.map((jwk) => [jwk.kid, { jwk, key: createPrivateKey({ key: jwk as never, format: 'jwk' }) }]));
  const publicJwk = (kid: string) => {
    const { jwk, key } = keys.get(kid)!;
    return { ...createPublicKey(key).export({ format: 'jwk' }), kid, alg: jwk.alg, use: 'sig' };
  };
  const jwks = { keys: PUBLISHED.map(publicJwk) };
  const reused = new Map<string, string>();
  for (const vector of previous?.vectors ?? []) if (vector.token) reused.set(vector.token.split('.').slice(0, 2).join('.'), vector.token);

  const signToken = (header: Record<string, unknown>, payload: Record<string, unknown> | string, signer: Signer = { kid: 'gw-2026-01' }): string => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
    if ('none' in signer) return `${input}.${signer.none}`;
    if ('hmac' in signer) return `${input}.${b64url(createHmac('sha256', signer.hmac).update(input).digest())}`;
    const { jwk, key } = keys.get(signer.kid)!;
    if (jwk.alg === 'ES256') {
      const earlier = reused.get(input);
      if (earlier) return earlier;
      return `${input}.${b64url(cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }))}`;
    }
    return `${input}.${b64url(cryptoSign(jwk.alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), key))}`;
  };

  const BODY = '{"query":"query Me { me { id email } }","operationName":"Me","variables":{}}';
  const bindingOf = (body: string) => requestBinding(JSON.parse(body) as never);
  const header = (over: Record<string, unknown> = {}) => omitUndefined({ alg: 'EdDSA', kid: 'gw-2026-01', typ: IDENTITY_TOKEN_TYPE, ...over });
  const claims = (over: Record<string, unknown> = {}, body = BODY) =>
    omitUndefined({
      iss: ISSUER,
      aud: AUDIENCE,
      iat: NOW - 10,
      exp: NOW + 50,
      jti: 'jti-0001',
      rbh: bindingOf(body),
      scope: ['products:read', 'reviews:write'],
      roles: ['customer'],
      amr: ['jwt'],
      sub: 'u2',
      pid: principalId('jwt', IDP, 'u2'),
      tenant: 'acme',
      client_id: 'shop-web',
      orig_iss: IDP,
      ...over,
    });
  const anonymous = (over: Record<string, unknown> = {}) =>
    claims({ scope: [], roles: [], amr: ['anonymous'], sub: undefined, pid: undefined, tenant: undefined, client_id: undefined, orig_iss: undefined, ...over });

  const vectors: Vector[] = [];
  const accept = (name: string, rule: string, token: string, payload: Record<string, unknown>, body = BODY) =>
    vectors.push({ name, rule, token, body, expected: { verdict: 'accept', claims: payload } });
  const refuse = (name: string, reason: RefusalReason, token: string | null, body = BODY) =>
    vectors.push({ name, rule: reason, token, body, expected: { verdict: 'refuse', reason } });
  /** An accepted vector: the token signed over `payload` with `hdr`. */
  const ok = (name: string, rule: string, payload: Record<string, unknown>, hdr = header(), signer?: Signer, body = BODY) =>
    accept(name, rule, signToken(hdr, payload, signer), payload, body);
  const no = (name: string, reason: RefusalReason, payload: Record<string, unknown> | string, hdr = header(), signer?: Signer, body = BODY) =>
    refuse(name, reason, signToken(hdr, payload, signer), body);

  // Accepted: keys and rotation
  ok('a user, EdDSA, the current key', 'signature', claims());
  ok('ES256 key', 'alg', claims(), header({ alg: 'ES256', kid: 'gw-es256' }), { kid: 'gw-es256' });
  ok('the previous key, still published (rotation)', 'kid', claims({ jti: 'jti-0002' }), header({ kid: 'gw-2025-12' }), { kid: 'gw-2025-12' });
  ok('an anonymous caller', 'claims', anonymous());
  ok('the gateway itself (service)', 'claims', claims({ amr: ['service'], sub: ISSUER, pid: principalId('service', ISSUER, ISSUER), scope: [], roles: [], tenant: undefined, client_id: undefined, orig_iss: undefined }));
  ok('a shared account namespace', 'claims', claims({ pid: 'jwt:shop:u2' }));
  ok('typ with application/ prefix, upper case (RFC 7515 §4.1.9)', 'typ', claims(), header({ typ: `application/${IDENTITY_TOKEN_TYPE.toUpperCase()}` }));
  ok('jwk, jku and x5u header members are ignored', 'kid', claims(), header({ jwk: publicJwk('attacker'), jku: 'https://attacker.example/jwks.json', x5u: 'https://attacker.example/x5u' }));
  ok('an unknown claim is ignored', 'claims', claims({ x_future: { a: 1 } }));
  // Accepted: time, at the boundaries
  ok('exp 4 s past: within the tolerance', 'exp', claims({ iat: NOW - 64, exp: NOW - 4 }));
  ok('iat 5 s ahead: within the tolerance', 'iat', claims({ iat: NOW + TOLERANCE, exp: NOW + 65 }));
  ok('nbf 5 s ahead: within the tolerance', 'nbf', claims({ nbf: NOW + TOLERANCE }));
  ok(`a lifetime of exactly ${MAX_IDENTITY_TTL_SECONDS} s`, 'lifetime', claims({ iat: NOW - 100, exp: NOW - 100 + MAX_IDENTITY_TTL_SECONDS }));
  ok('a lifetime of 0 s', 'lifetime', claims({ iat: NOW, exp: NOW }));
  // Accepted: bounds
  ok('the largest lists and strings', 'claims', claims({
    sub: 's'.repeat(CLAIM_LIMITS.subject),
    pid: principalId('jwt', IDP, 's'.repeat(CLAIM_LIMITS.subject)),
    scope: Array.from({ length: CLAIM_LIMITS.items }, (_, i) => `scope:${i}`),
    roles: ['r'.repeat(CLAIM_LIMITS.item)],
    tenant: 't'.repeat(CLAIM_LIMITS.item),
  }));
  ok('non-ASCII items and a subject holding ":"', 'claims', claims({ sub: 'urn:user:ü:2', pid: principalId('jwt', IDP, 'urn:user:ü:2'), scope: ['lecture:écrire', '読み取り'], roles: ['😀'] }));
  // Accepted: the request binding (RFC 8785)
  const bodies: Array<[string, string]> = [
    ['no operationName, no variables', '{"query":"{ me { id } }"}'],
    ['null operationName and variables', '{"query":"{ me { id } }","operationName":null,"variables":null}'],
    ['members in another order, whitespace, and extensions (not bound)', ' {\n "variables" : { "b" : 2 , "a" : 1 } ,\n "extensions": {"x": 1}, "operationName":"Q", "query":"query Q($a: Int, $b: Int) { me { id } }" }'],
    ['numbers in ECMAScript form', '{"query":"query N($n: JSON) { me { id } }","variables":{"n":[1.0,-0,1E21,1e-7,0.000001,123456789012345678901234567890,9007199254740993,4.50,2e-3,1.7976931348623157e308,5e-324,333333333.33333329,-1.5e-10]}}'],
    ['strings: escapes, non-ASCII, astral, U+2028, control characters', '{"query":"query S($s: String) { me { id } }","variables":{"s":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/ é 😀 \\ud83d\\ude00 \\u2028 \\u007f"}}'],
    ['keys sorted by UTF-16 code units (RFC 8785 §3.2.3)', '{"query":"query K($k: JSON) { me { id } }","variables":{"k":{"\\u20ac":1,"\\r":2,"\\ufb33":3,"1":4,"\\ud83d\\ude00":5,"\\u0080":6,"\\u00f6":7,"":8}}}'],
    ['an entity fetch with nested representations', '{"query":"query($representations:[_Any!]!){_entities(representations:$representations){...on User{id email}}}","operationName":null,"variables":{"representations":[{"__typename":"User","id":"u1"},{"id":"u2","__typename":"User","extra":{"z":[true,false,null,{}],"a":[]}}]}}'],
  ];
  bodies.forEach(([label, body], i) => ok(`binding: ${label}`, 'binding', claims({ jti: `jti-b${i}` }, body), header(), undefined, body));

  // Refused: transport and form
  refuse('no identity header', 'absent', null);
  refuse(`an identity header over ${MAX_IDENTITY_TOKEN_BYTES} bytes`, 'oversized', signToken(header(), claims({ x_pad: 'p'.repeat(MAX_IDENTITY_TOKEN_BYTES) })));
  refuse('not a JWS', 'malformed', 'garbage');
  refuse('two segments', 'malformed', signToken(header(), claims()).split('.').slice(0, 2).join('.'));
  refuse('an empty signature segment', 'malformed', `${signToken(header(), claims()).split('.').slice(0, 2).join('.')}.`);
  refuse('a JWE (five segments)', 'malformed', `${b64url('{"alg":"dir","enc":"A256GCM"}')}..${'A'.repeat(16)}.${'A'.repeat(16)}.${'A'.repeat(22)}`);
  refuse('base64 padding', 'malformed', `${signToken(header(), claims())}=`);
  refuse('a header that is not JSON', 'malformed', `${b64url('{"alg":"EdDSA",')}.${signToken(header(), claims()).split('.').slice(1).join('.')}`);
  refuse('a header that is a JSON array', 'malformed', `${b64url('["EdDSA"]')}.${signToken(header(), claims()).split('.').slice(1).join('.')}`);
  no('a payload that is not a JSON object', 'malformed', '["not","claims"]');
  // Refused: header
  no('alg none', 'alg', claims(), header({ alg: 'none' }), { none: 'c2lnbmF0dXJl' });
  no('alg HS256 keyed with the public JWK', 'alg', claims(), header({ alg: 'HS256' }), { hmac: Buffer.from(JSON.stringify(publicJwk('gw-2026-01'))) });
  no('alg HS256 keyed with the raw public key', 'alg', claims(), header({ alg: 'HS256' }), { hmac: Buffer.from(publicJwk('gw-2026-01').x as string, 'base64url') });
  no('alg RS256, with an RSA key the JWKS publishes', 'alg', claims(), header({ alg: 'RS256', kid: 'gw-rsa' }), { kid: 'gw-rsa' });
  no('alg Ed25519 (not in the list)', 'alg', claims(), header({ alg: 'Ed25519' }));
  no('alg eddsa (case matters)', 'alg', claims(), header({ alg: 'eddsa' }));
  no('no alg', 'alg', claims(), header({ alg: undefined }));
  no('no typ', 'typ', claims(), header({ typ: undefined }));
  no('typ JWT', 'typ', claims(), header({ typ: 'JWT' }));
  no('typ at+jwt (an access token)', 'typ', claims(), header({ typ: 'at+jwt' }));
  no('typ with a suffix', 'typ', claims(), header({ typ: `${IDENTITY_TOKEN_TYPE}x` }));
  no('typ a number', 'typ', claims(), header({ typ: 1 }));
  no('typ of contract v0', 'version', claims(), header({ typ: 'frontdesk-identity+jwt' }));
  no('typ of contract v2', 'version', claims(), header({ typ: `frontdesk-identity.v${IDENTITY_TOKEN_VERSION + 1}+jwt` }));
  no('a crit header member', 'crit', claims(), header({ crit: ['exp'] }));
  no('an unknown kid', 'kid', claims(), header({ kid: 'gw-unknown' }));
  no('no kid', 'kid', claims(), header({ kid: undefined }));
  no('an empty kid', 'kid', claims(), header({ kid: '' }));
  no('a removed key (no longer in the JWKS)', 'kid', claims(), header({ kid: 'gw-2025-06' }), { kid: 'gw-2025-06' });
  no('ES256 with the kid of an EdDSA key', 'kid', claims(), header({ alg: 'ES256' }), { kid: 'gw-es256' });
  no('EdDSA with the kid of the RSA key', 'kid', claims(), header({ kid: 'gw-rsa' }));
  // Refused: signature
  no("another key's signature under the current kid", 'signature', claims(), header(), { kid: 'attacker' });
  no('an attacker key embedded as jwk, signed with it', 'signature', claims(), header({ jwk: publicJwk('attacker') }), { kid: 'attacker' });
  no("the previous key's signature under the current kid", 'signature', claims(), header(), { kid: 'gw-2025-12' });
  refuse('a signature taken from another token', 'signature', (() => {
    const [h, p] = signToken(header(), claims({ roles: ['admin'] })).split('.');
    return `${h}.${p}.${signToken(header(), claims()).split('.')[2]}`;
  })());
  // Refused: registered claims
  no('iss of another gateway', 'iss', claims({ iss: 'https://other-gateway.example' }));
  no('iss of the identity provider', 'iss', claims({ iss: IDP }));
  no('no iss', 'iss', claims({ iss: undefined }));
  no('iss an array', 'iss', claims({ iss: [ISSUER] }));
  no('aud of another subgraph', 'aud', claims({ aud: 'products' }));
  no('aud an array holding this subgraph only', 'aud', claims({ aud: [AUDIENCE] }));
  no('aud an array holding this subgraph and another', 'aud', claims({ aud: [AUDIENCE, 'products'] }));
  no('no aud', 'aud', claims({ aud: undefined }));
  no('expired: exp 5 s past', 'exp', claims({ iat: NOW - 65, exp: NOW - TOLERANCE }));
  no('no exp', 'exp', claims({ exp: undefined }));
  no('exp a string', 'exp', claims({ exp: String(NOW + 50) }));
  no('nbf 6 s ahead', 'nbf', claims({ nbf: NOW + TOLERANCE + 1 }));
  no('iat 6 s ahead', 'iat', claims({ iat: NOW + TOLERANCE + 1, exp: NOW + 66 }));
  no('no iat', 'iat', claims({ iat: undefined }));
  no('iat a string', 'iat', claims({ iat: String(NOW - 10) }));
  no(`a lifetime of ${MAX_IDENTITY_TTL_SECONDS + 1} s`, 'lifetime', claims({ iat: NOW - 10, exp: NOW - 10 + MAX_IDENTITY_TTL_SECONDS + 1 }));
  no('exp before iat', 'lifetime', claims({ iat: NOW + 1, exp: NOW }));
  // Refused: the contract's claims
  no('amr a string (v0)', 'amr', claims({ amr: 'jwt' }));
  no('amr empty', 'amr', claims({ amr: [] }));
  no('amr of two methods', 'amr', claims({ amr: ['jwt', 'mtls'] }));
  no('amr unknown', 'amr', claims({ amr: ['root'] }));
  no('no amr', 'amr', claims({ amr: undefined }));
  no('scope a space-separated string (v0)', 'claims', claims({ scope: 'products:read reviews:write' }));
  no('a scope item holding a space', 'claims', claims({ scope: ['products:read inventory:read'] }));
  no('a scope item holding a tab', 'claims', claims({ scope: ['products:read\tinventory:read'] }));
  no('a scope item holding U+00A0', 'claims', claims({ scope: ['products:read\u00a0'] }));
  no('a role holding U+2028', 'claims', claims({ roles: ['a\u2028b'] }));
  no('a role holding NUL', 'claims', claims({ roles: ['admin\u0000'] }));
  no('a role holding U+0085 (C1 control)', 'claims', claims({ roles: ['admin\u0085'] }));
  no('an empty scope item', 'claims', claims({ scope: [''] }));
  no('a scope item that is not a string', 'claims', claims({ scope: [1] }));
  no(`${CLAIM_LIMITS.items + 1} scopes`, 'claims', claims({ scope: Array.from({ length: CLAIM_LIMITS.items + 1 }, (_, i) => `s${i}`) }));
  no(`a role of ${CLAIM_LIMITS.item + 1} characters`, 'claims', claims({ roles: ['r'.repeat(CLAIM_LIMITS.item + 1)] }));
  no('no scope', 'claims', claims({ scope: undefined }));
  no('roles an object', 'claims', claims({ roles: { admin: true } }));
  no('a user without sub', 'claims', claims({ sub: undefined }));
  no(`a sub of ${CLAIM_LIMITS.subject + 1} characters`, 'claims', claims({ sub: 's'.repeat(CLAIM_LIMITS.subject + 1), pid: principalId('jwt', IDP, 's'.repeat(CLAIM_LIMITS.subject + 1)) }));
  no('sub a number', 'claims', claims({ sub: 2 }));
  no('a user without pid', 'claims', claims({ pid: undefined }));
  no('the pid of another sub', 'claims', claims({ pid: principalId('jwt', IDP, 'u1') }));
  no('the pid of another method', 'claims', claims({ pid: principalId('api_key', IDP, 'u2') }));
  no('a pid with an unencoded namespace', 'claims', claims({ pid: `jwt:${IDP}:u2` }));
  no('an anonymous caller with a sub', 'claims', anonymous({ sub: 'u2' }));
  no('an anonymous caller with a pid', 'claims', anonymous({ pid: principalId('jwt', IDP, 'u2') }));
  no('no jti', 'claims', claims({ jti: undefined }));
  no('jti a number', 'claims', claims({ jti: 1 }));
  no('no rbh', 'claims', claims({ rbh: undefined }));
  no('an empty tenant', 'claims', claims({ tenant: '' }));
  no('client_id a number', 'claims', claims({ client_id: 7 }));
  no('orig_iss an array', 'claims', claims({ orig_iss: [IDP] }));
  // Refused: the request binding
  const bound = signToken(header(), claims());
  refuse('another query', 'binding', bound, '{"query":"query Me { me { id email role } }","operationName":"Me","variables":{}}');
  refuse('the same query, reformatted', 'binding', bound, '{"query":"query Me { me { id email } } ","operationName":"Me","variables":{}}');
  refuse('another operation name', 'binding', bound, '{"query":"query Me { me { id email } }","operationName":"Other","variables":{}}');
  refuse('an extra variable', 'binding', bound, '{"query":"query Me { me { id email } }","operationName":"Me","variables":{"x":1}}');
  refuse('a number as a string', 'binding', signToken(header(), claims({}, '{"query":"{ me { id } }","variables":{"n":1}}')), '{"query":"{ me { id } }","variables":{"n":"1"}}');

  const names = new Set<string>();
  for (const vector of vectors) {
    if (names.has(vector.name)) throw new Error(`duplicate vector name: ${vector.name}`);
    names.add(vector.name);
  }
  return {
    jwks,
    file: {
      description: 'frontdesk identity token v1 conformance vectors: see conformance/README.md and docs/identity-token.md',
      version: IDENTITY_TOKEN_VERSION,
      now: NOW,
      clockToleranceSeconds: TOLERANCE,
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: 'jwks.json',
      vectors,
    },
  };
}

function omitUndefined(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

/** The files as written: two-space JSON with a final newline. */
export function renderVectors(previous?: VectorFile): { 'jwks.json': string; 'vectors.json': string } {
  const { jwks, file } = buildVectors(previous);
  return { 'jwks.json': `${JSON.stringify(jwks, null, 2)}\n`, 'vectors.json': `${JSON.stringify(file, null, 2)}\n` };
}

export function readCommittedVectors(): VectorFile | undefined {
  const path = `${DIR}/vectors.json`;
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as VectorFile) : undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rendered = renderVectors(readCommittedVectors());
  const check = process.argv.includes('--check');
  let stale = false;
  for (const [name, text] of Object.entries(rendered)) {
    const path = `${DIR}/${name}`;
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === text) continue;
    stale = true;
    if (!check) writeFileSync(path, text);
    process.stdout.write(`${check ? 'stale' : 'wrote'} conformance/${name}\n`);
  }
  if (check && stale) process.exit(1);
  if (!stale) process.stdout.write('conformance vectors are up to date\n');
}
