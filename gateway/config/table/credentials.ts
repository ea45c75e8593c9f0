/**
 * Config table: the credentials other than JWTs (issue 12) — opaque tokens by introspection (RFC 7662),
 * API keys, client certificates. Each is a module of the authenticator chain (gateway/auth/methods/).
 */
import { CLAIM_LIMITS } from '@frontdesk/kit/contract';
import { duration, list, oneOf, optionalSection, path, section, string, url } from './fields.ts';

const claimList = (defaults: readonly string[], doc: string) => list(string({ doc: 'claim name' }), { default: defaults, single: true, doc });

const namespace = (defaultText: string, method: string) =>
  string({
    defaultText,
    pattern: `^[\\s\\S]{1,${CLAIM_LIMITS.issuer}}$`,
    patternProblem: `must be 1 to ${CLAIM_LIMITS.issuer} characters`,
    doc: `namespace of these principal ids (\`${method}:<namespace>:<subject>\`, docs/identity-token.md)`,
  });

/** The answer's members that become the Principal; the same mapping as `auth.jwt[].claims`. */
export const introspectionClaims = section('Member names of the introspection answer; dotted paths reach nested members.', {
  subject: string({ default: 'sub', doc: 'member holding the subject (`client_id` for client-credentials tokens without `sub`)' }),
  scopes: claimList(['scope'], 'member(s) holding scopes: a space-separated string or an array'),
  roles: claimList(['roles'], 'member(s) holding roles: an array or a space-separated string'),
  tenant: string({ defaultText: 'none', doc: 'member holding the tenant' }),
  clientId: claimList(['client_id'], 'member(s) holding the OAuth client id'),
});

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'private_key_jwt'] as const;

const introspectionIssuer = section(
  'The authorization server whose opaque tokens are introspected.',
  {
    issuer: string({ required: 'the authorization server, e.g. https://idp.example/realms/shop', doc: 'its issuer identifier; an `iss` in an answer must equal it' }),
    endpoint: url({ defaultText: 'OIDC discovery', doc: 'introspection endpoint; omitted: `introspection_endpoint` of `<issuer>/.well-known/openid-configuration`' }),
    clientId: string({ required: 'the client id the gateway authenticates to the introspection endpoint with', doc: 'the gateway\'s client id at the authorization server' }),
    clientAuth: oneOf(CLIENT_AUTH_METHODS, { default: 'client_secret_basic', doc: 'how the gateway authenticates to the endpoint (RFC 7662 §2.1)' }),
    clientSecret: string({ secret: true, defaultText: 'none', doc: 'for `client_secret_basic`; use `${ENV}`, never commit it' }),
    clientKey: path({ defaultText: 'none', doc: 'for `private_key_jwt`: a private JWK file (RS256, ES256 or EdDSA) signing the client assertion (RFC 7523)' }),
    audience: list(string({ doc: 'an accepted aud' }), { required: 'list the aud values the tokens are issued for', doc: 'accepted `aud` values; an answer without one of them is refused' }),
    tokenType: string({ default: 'Bearer', doc: 'required `token_type` of the answer (case-insensitive); a refresh token introspects as active without one' }),
    claims: introspectionClaims,
    principalNamespace: namespace('the issuer', 'introspection'),
    clockTolerance: duration({ default: '30s', max: '5m', doc: 'skew allowed on `nbf` and `iat`; `exp` is strict' }),
    cacheTtl: duration({ default: '60s', max: '1h', doc: "longest reuse of an active answer (per token digest); never past the token's `exp`" }),
    negativeCacheTtl: duration({ default: '5s', max: '5m', doc: 'how long an inactive or malformed answer is remembered, so a flood of one bad token asks once' }),
    timeout: duration({ default: '5s', min: '10ms', max: '1m', doc: 'introspection (and discovery) request timeout; past it: 503 `AUTH_UNAVAILABLE`' }),
  },
  ({ principalNamespace, ...read }) => ({ ...read, principalNamespace: principalNamespace ?? read.issuer }),
);

export const introspection = list(introspectionIssuer, {
  defaultText: 'none',
  doc: 'authorization servers whose opaque (non-JWS) bearer tokens are introspected; at most one (an opaque token names no issuer)',
});

export const API_KEY_STORES = ['file', 'redis'] as const;

export const apiKeys = optionalSection(
  'API keys `fd_<id>_<secret>` (README "API keys"); `npm run apikey` manages the store.',
  {
    store: oneOf(API_KEY_STORES, {
      default: 'file',
      doc: 'where the key records live: `file` (`auth.apiKeys.file`, one instance) or `redis` (`store.redis`, shared by the fleet: docs/fleet.md "Shared API keys")',
    }),
    file: path({ defaultText: 'off', doc: 'the key store with `store: file` (YAML, hashes only); reloaded within a second of a change' }),
    cacheTtl: duration({
      default: '1s',
      max: '1m',
      doc: 'with `store: redis`, longest reuse of a looked-up record; a change by `npm run apikey` drops it on every instance at once (pub/sub), so this bounds staleness only when that message is lost',
    }),
    header: string({
      default: 'x-api-key',
      lowerCase: true,
      pattern: '^[a-z0-9-]+$',
      patternProblem: 'must be a header name: letters, digits and hyphens',
      doc: 'request header carrying the key; never forwarded to subgraphs',
    }),
    principalNamespace: namespace('`local`', 'api_key'),
  },
  ({ store, file, cacheTtlMs, header, principalNamespace }, { key, problem }) => {
    const common = { header, principalNamespace: principalNamespace ?? 'local' };
    if (store === 'redis') {
      if (file !== undefined) problem(`${key}.file: the records live in Redis with store: redis; remove file (move its keys with \`npm run apikey -- --config <gateway.yaml> import ${file}\`)`);
      return { store, cacheTtlMs, ...common };
    }
    return file === undefined ? undefined : { store, file, ...common };
  },
);

const certificateMatch = section(
  'What a certificate must hold; exactly one key.',
  {
    uriSan: string({ defaultText: '—', doc: 'a URI SAN, exactly (SPIFFE: `spiffe://trust.domain/ns/prod/sa/orders`)' }),
    dnsSan: string({ defaultText: '—', doc: 'a DNS SAN, exactly' }),
    subject: string({ defaultText: '—', doc: 'the subject DN as Node prints it (`CN=orders,O=Shop`), exactly' }),
  },
  (read, { key, problem }) => {
    const given = Object.entries(read).filter(([, value]) => value !== undefined);
    if (given.length !== 1) problem(`${key}: give exactly one of uriSan, dnsSan, subject`);
    const [kind, value] = given[0] ?? ['uriSan', ''];
    return { kind: kind as 'uriSan' | 'dnsSan' | 'subject', value: value as string };
  },
);

const certificateIdentity = section('A principal for the client certificates that match.', {
  match: certificateMatch,
  subject: string({ required: 'the principal subject for certificates that match, e.g. orders-service', doc: 'the principal\'s subject' }),
  scopes: list(string({ doc: 'a scope' }), { default: [], single: true, doc: 'its scopes' }),
  roles: list(string({ doc: 'a role' }), { default: [], single: true, doc: 'its roles' }),
  tenant: string({ defaultText: 'none', doc: 'its tenant' }),
});

export const mtls = section('Client certificates as credentials (needs `listen.tls.clientCa`).', {
  identities: list(certificateIdentity, {
    defaultText: 'none',
    doc: 'first match wins; a valid certificate matching none is refused. None: certificates only bind tokens (RFC 8705)',
  }),
  principalNamespace: namespace('`local`', 'mtls'),
});
