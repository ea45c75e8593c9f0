/** Config table: who may call the gateway, and how their tokens are verified. */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { CLAIM_LIMITS } from '@frontdesk/kit/contract';
import { isHttpUrl } from '../read.ts';
import { apiKeys, introspection, mtls } from './credentials.ts';
import { boolean, duration, integer, list, oneOf, section, string, type FinishContext } from './fields.ts';

/** Asymmetric JWS algorithms accepted for caller tokens. HS*, none and anything else are refused. */
export const SUPPORTED_JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** Where an issuer's keys are: an http(s) URL, a file, or the issuer's OIDC discovery document. */
export type KeySetSource = { kind: 'url'; url: string } | { kind: 'file'; path: string } | { kind: 'discovery'; url: string };

const claimList = (defaults: readonly string[], doc: string) => list(string({ doc: 'claim name' }), { default: defaults, single: true, doc });

const issuer = section(
  'One accepted token issuer.',
  {
    issuer: string({ required: 'the exact `iss` of the tokens, e.g. https://idp.example/realms/shop', doc: 'exact `iss`' }),
    jwks: string({
      defaultText: 'OIDC discovery',
      doc: 'key set URL or file; omitted: `<issuer>/.well-known/openid-configuration` (its `issuer` must match exactly); URLs must be https in production, loopback hosts excepted',
    }),
    audience: list(string({ doc: 'an accepted aud' }), {
      required: 'list the aud values your tokens are issued for (never taken from the request)',
      doc: 'accepted `aud` values',
    }),
    algorithms: list(oneOf(SUPPORTED_JWT_ALGORITHMS, { hint: 'use asymmetric algorithms only', doc: 'a JWS algorithm' }), {
      default: ['RS256', 'ES256', 'EdDSA'],
      doc: 'accepted algorithms: asymmetric only; HMAC and `none` are never accepted',
    }),
    typ: string({ defaultText: 'not checked', doc: 'required JOSE `typ`, e.g. `at+jwt` (RFC 9068)' }),
    clockTolerance: duration({ default: '30s', max: '5m', hint: 'fix the clocks instead', doc: 'skew allowed on `nbf` and `iat`; `exp` is strict' }),
    maxLifetime: duration({ default: '24h', min: '1s', doc: 'longest accepted `exp − iat`' }),
    claims: section('Claim names; dotted paths reach nested claims (`realm_access.roles`).', {
      subject: string({ default: 'sub', doc: 'claim holding the subject' }),
      scopes: claimList(['scope', 'scp'], 'claim(s) holding scopes: a space-separated string or an array'),
      roles: claimList(['roles'], 'claim(s) holding roles: an array or a space-separated string'),
      tenant: string({ defaultText: 'none', doc: 'claim holding the tenant' }),
      clientId: claimList(['client_id', 'azp'], 'claim(s) holding the OAuth client id'),
    }),
    principalNamespace: string({
      defaultText: 'the issuer',
      pattern: `^[\\s\\S]{1,${CLAIM_LIMITS.issuer}}$`,
      patternProblem: `must be 1 to ${CLAIM_LIMITS.issuer} characters`,
      doc: 'namespace of this issuer\'s principal ids (`jwt:<namespace>:<sub>`, docs/identity-token.md); issuers given the same one share an account space',
    }),
    jwksTimeout: duration({ default: '5s', min: '1ms', max: '1m', doc: 'key set / discovery fetch timeout' }),
    jwksCooldown: duration({ default: '30s', doc: 'window in which unknown `kid`s cause at most `jwksCooldownFetches` key set fetches (sliding)' }),
    jwksCooldownFetches: integer({
      default: 2,
      min: 1,
      max: 10,
      doc: 'most key set fetches caused by unknown `kid`s in any `jwksCooldown`: what a flood of random `kid`s can cost the issuer',
    }),
    jwksMinInterval: duration({
      default: '5s',
      doc: 'least age of the last key set fetch before an unknown `kid` may cause another (capped at `jwksCooldown`): a key rotated in just after a fetch verifies within it',
    }),
    jwksMaxAge: duration({
      default: '5m',
      max: '24h',
      doc: 'key set age after which it is fetched again before use, even by a cached verification: a key removed by the issuer stops verifying, and the verifications it produced stop standing, within this time (while the issuer is down, the stale keys keep verifying)',
    }),
  },
  ({ jwks, principalNamespace, ...read }, context) => ({ ...read, principalNamespace: principalNamespace ?? read.issuer, jwks: keySetSource(read.issuer, jwks, context) }),
);

function keySetSource(issuerUrl: string, jwks: string | undefined, { key, baseDir, problem }: FinishContext): KeySetSource {
  if (jwks === undefined) {
    if (issuerUrl && !isHttpUrl(issuerUrl)) problem(`${key}.issuer: expected an http(s) URL for OIDC discovery, got "${issuerUrl}"; or set ${key}.jwks to a key set URL or file`);
    return { kind: 'discovery', url: `${issuerUrl.replace(/\/$/, '')}/.well-known/openid-configuration` };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(jwks)) {
    if (!isHttpUrl(jwks)) problem(`${key}.jwks: expected an http(s) URL or a file path, got "${jwks}"`);
    return { kind: 'url', url: jwks };
  }
  const path = isAbsolute(jwks) ? jwks : resolve(baseDir, jwks);
  if (!existsSync(path)) problem(`${key}.jwks: file ${path} does not exist`);
  return { kind: 'file', path };
}

export const auth = section('Who may call, and how their tokens are verified.', {
  anonymous: boolean({ default: true, doc: '`false`: no credentials → 401' }),
  realm: string({
    default: 'frontdesk',
    pattern: '^[^"\\\\\\r\\n]+$',
    patternProblem: 'must not contain quotes, backslashes or line breaks',
    doc: '`realm` of `WWW-Authenticate`',
  }),
  maxTokenBytes: integer({
    default: 8_192,
    min: 256,
    max: 16_384,
    unit: 'bytes',
    doc: 'longer credentials are refused before parsing or crypto; must fit in `server.maxHeaderBytes`',
  }),
  cache: section('Verified-token cache.', {
    maxEntries: integer({ default: 10_000, min: 0, max: 1_000_000, doc: 'verified-token cache size (LRU; 0 turns it off)' }),
    ttl: duration({ default: '60s', doc: "longest reuse of a verification result; never past the token's `exp`" }),
  }),
  jwt: list(issuer, { defaultText: 'none', doc: 'accepted token issuers; none: every bearer token is refused' }),
  introspection,
  apiKeys,
  mtls,
});
