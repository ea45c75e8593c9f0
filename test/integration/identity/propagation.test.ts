/**
 * The identity token between the gateway and the subgraphs (issue 4): what every subgraph fetch carries,
 * what a captured token is (not) good for, forged tokens, spoofed client headers, direct requests, and
 * concurrent users. Everything over real HTTP on loopback, port 0.
 */
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Agent } from 'undici';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicePrincipal, type Principal } from '../../../gateway/auth/principal.ts';
import { SubgraphDataSource } from '../../../gateway/datasource.ts';
import { createIdentityMinter } from '../../../gateway/identity/mint.ts';
import { createLogger } from '../../../gateway/log.ts';
import { SubgraphGuard } from '../../../gateway/subgraph/guard.ts';
import { IDENTITY_TOKEN_TYPE, principalId, requestBinding } from '../../../subgraphs/kit/contract.ts';
import { IdentityError } from '../../../subgraphs/kit/errors.ts';
import { createIdentityVerifier } from '../../../subgraphs/kit/identity.ts';
import { runSubgraph, SUBGRAPH_NAMES, type RunningSubgraph, type SubgraphName } from '../../../subgraphs/shop/example.ts';
import { createAccountsSubgraph } from '../../../subgraphs/shop/accounts/index.ts';
import { startStack, type ReceivedRequest, type Stack } from '../../support/stack.ts';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';

/** One fetch per subgraph: products (topProducts) → reviews (_entities) → accounts (_entities). */
const SHOP_QUERY = 'query Top($first: Int) { topProducts(first: $first) { upc name price reviews { id body author { id username } } } }';
const USERS_QUERY = '{ users { id } }';
const ENTITIES_QUERY = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username } } }';

/** Header names a subgraph may receive: transport, the gateway's own, and the forwarding allowlist. */
const ALLOWED_AT_SUBGRAPH = new Set([
  'host',
  'connection',
  'content-length',
  'content-type',
  'accept',
  'x-request-id',
  'frontdesk-identity',
  'traceparent',
  'tracestate',
  'baggage',
  'accept-language',
]);
const IDENTITY_CLAIMS = new Set(['iss', 'aud', 'sub', 'pid', 'iat', 'exp', 'jti', 'scope', 'roles', 'tenant', 'client_id', 'amr', 'orig_iss', 'rbh']);

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

/**
 * A raw HTTP POST with node:http, which (unlike fetch) sends exactly the header lines given: duplicates,
 * any spelling, and a Connection header naming other headers. `headers` is [name, value] pairs.
 */
function rawPost(url: string, body: unknown, headers: Array<[string, string]>): Promise<HttpAnswer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const flat: string[] = [];
  // with raw (array) headers node adds no Host header itself
  for (const [name, value] of [['host', new URL(url).host], ['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(text))], ...headers] as Array<[string, string]>) {
    flat.push(name, value);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: flat as unknown as OutgoingHttpHeaders, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(raw) as HttpAnswer['body'] });
        } catch {
          reject(new Error(`${url} answered ${res.statusCode} with a non-JSON body: ${raw.slice(0, 200)}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', reject);
    req.end(text);
  });
}

/** POSTs straight to a subgraph, bypassing the gateway. */
function direct(url: string, body: unknown, token?: string | string[]): Promise<HttpAnswer> {
  const tokens = token === undefined ? [] : Array.isArray(token) ? token : [token];
  return rawPost(url, body, tokens.map((t) => ['frontdesk-identity', t]));
}

function expectRefused(answer: HttpAnswer) {
  expect(answer.status).toBe(401);
  expect(answer.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(answer.body.data ?? undefined).toBeUndefined();
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Signs any header and payload with an Ed25519 key, without jose's checks (e.g. of `crit`). */
async function signRaw(header: Record<string, unknown>, payload: Record<string, unknown>, key: unknown): Promise<string> {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = await crypto.subtle.sign('Ed25519', key as CryptoKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

describe('identity propagation through the gateway', () => {
  let idp: TestIssuer;
  let stack: Stack;
  let jwksUrl: string;
  let gatewayKeys: JWTVerifyGetKey;

  beforeAll(async () => {
    idp = await startTestIssuer();
    stack = await startStack({
      auth: {
        anonymous: true,
        jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: ['shop-api'], algorithms: ['ES256'], claims: { tenant: 'org_id' } }],
      },
    });
    jwksUrl = `${stack.gateway.url}/.well-known/jwks.json`;
    gatewayKeys = createRemoteJWKSet(new URL(jwksUrl));
  });
  afterAll(async () => {
    await stack?.close();
    await idp?.close();
  });

  /** Verifies a received identity token the way any JOSE library would, against the published JWKS. */
  async function verifyReceived(subgraph: SubgraphName, entry: ReceivedRequest) {
    const token = entry.headers['frontdesk-identity'];
    expect(typeof token, `${subgraph} got one identity header`).toBe('string');
    const { payload, protectedHeader } = await jwtVerify(token as string, gatewayKeys, {
      issuer: stack.identityIssuer,
      audience: subgraph,
      typ: IDENTITY_TOKEN_TYPE,
      algorithms: ['EdDSA'],
      requiredClaims: ['exp', 'iat', 'jti', 'rbh', 'amr'],
    });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: stack.signingKey.kid, typ: 'frontdesk-identity.v1+jwt' });
    expect(payload.aud).toBe(subgraph);
    expect(payload.rbh).toBe(requestBinding(entry.body));
    for (const claim of Object.keys(payload)) expect(IDENTITY_CLAIMS.has(claim), `unexpected claim ${claim}`).toBe(true);
    return payload;
  }

  async function userQuery(token: string | undefined, body: unknown = { query: SHOP_QUERY, variables: { first: 2 } }) {
    stack.resetReceived();
    const result = await stack.query(body, token === undefined ? {} : { token });
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    for (const name of SUBGRAPH_NAMES) expect(stack.subgraphs[name].received.length, name).toBeGreaterThanOrEqual(1);
    return result;
  }

  /** A capture of one subgraph request as an attacker on the wire would see it. */
  async function capture(name: SubgraphName, token?: string) {
    await userQuery(token ?? (await idp.sign({ sub: 'u1' })));
    const entry = stack.subgraphs[name].received[0] as ReceivedRequest;
    return { token: entry.headers['frontdesk-identity'] as string, body: structuredClone(entry.body) };
  }

  describe('what every subgraph fetch carries', () => {
    it("a user's request: a token per fetch, verifying against the published JWKS, for that subgraph and that request", async () => {
      const userToken = await idp.sign(
        { sub: 'u2', scope: 'products:read reviews:write', roles: ['editor', 'staff'], org_id: 'acme' },
        { expiresIn: 20 },
      );
      const userExp = decodeJwt(userToken).exp as number;
      await userQuery(userToken);

      const jtis: string[] = [];
      for (const name of SUBGRAPH_NAMES) {
        for (const entry of stack.subgraphs[name].received) {
          const claims = await verifyReceived(name, entry);
          expect(claims).toMatchObject({
            iss: stack.identityIssuer,
            sub: 'u2',
            pid: principalId('jwt', idp.issuer, 'u2'),
            scope: ['products:read', 'reviews:write'],
            roles: ['editor', 'staff'],
            tenant: 'acme',
            amr: ['jwt'],
            orig_iss: idp.issuer,
          });
          const { iat, exp } = claims as Required<JWTPayload>;
          expect(exp).toBeGreaterThan(iat);
          expect(exp - iat).toBeLessThanOrEqual(60);
          // never outlives the credential: the user token expires in 20 s, so does the identity token
          expect(exp).toBeLessThanOrEqual(userExp);
          expect(exp).toBe(userExp);
          expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(10);
          jtis.push(claims.jti as string);
          // the client's credential itself never travels to a subgraph
          expect(JSON.stringify(entry)).not.toContain(userToken);
        }
      }
      expect(jtis.length).toBeGreaterThanOrEqual(3);
      expect(new Set(jtis).size).toBe(jtis.length);
    });

    it('the lifetime is the configured 60 s when the credential lives longer', async () => {
      await userQuery(await idp.sign({ sub: 'u1' }, { expiresIn: 3_600 }));
      for (const name of SUBGRAPH_NAMES) {
        const claims = await verifyReceived(name, stack.subgraphs[name].received[0]!);
        expect((claims.exp as number) - (claims.iat as number)).toBe(60);
      }
    });

    it('an anonymous caller gets a token too: amr anonymous, no sub, no original issuer, no scopes', async () => {
      await userQuery(undefined);
      for (const name of SUBGRAPH_NAMES) {
        for (const entry of stack.subgraphs[name].received) {
          const claims = await verifyReceived(name, entry);
          expect(claims.amr).toEqual(['anonymous']);
          expect(claims).not.toHaveProperty('sub');
          expect(claims).not.toHaveProperty('pid');
          expect(claims).not.toHaveProperty('orig_iss');
          expect(claims).not.toHaveProperty('tenant');
          expect(claims.scope).toEqual([]);
          expect(claims.roles).toEqual([]);
          expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(60);
        }
      }
    });

    it('the body sent to a subgraph is query, operationName and variables, and the token is bound to exactly that', async () => {
      await userQuery(await idp.sign({ sub: 'u1' }));
      for (const name of SUBGRAPH_NAMES) {
        for (const entry of stack.subgraphs[name].received) {
          expect(Object.keys(entry.body).sort()).toEqual(['operationName', 'query', 'variables']);
          expect(entry.identity?.claims.rbh).toBe(requestBinding(entry.body));
        }
      }
    });
  });

  describe('a captured token is useless elsewhere', () => {
    it('is accepted with the same body by its own subgraph (no replay cache)', async () => {
      const before = stack.stores.accounts.calls.findUsersByIds;
      const { token, body } = await capture('accounts');
      expect(body.query).toContain('_entities');
      const answer = await direct(stack.subgraphs.accounts.url, body, token);
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect((answer.body.data?._entities as unknown[]).length).toBe((body.variables?.representations as unknown[]).length);
      expect(stack.stores.accounts.calls.findUsersByIds).toBe(before + 2);
    });

    it('is refused by every other subgraph (aud)', async () => {
      for (const from of SUBGRAPH_NAMES) {
        const { token, body } = await capture(from);
        for (const to of SUBGRAPH_NAMES.filter((name) => name !== from)) {
          const refusals = stack.subgraphs[to].refusals.length;
          expectRefused(await direct(stack.subgraphs[to].url, body, token));
          expect(String(stack.subgraphs[to].refusals[refusals]?.reason), `${from} → ${to}`).toMatch(/"aud"/);
        }
      }
    });

    it('is refused with another query, other variables or another operation name (rbh), before any resolver runs', async () => {
      const { token, body } = await capture('accounts');
      expect(typeof body.operationName).toBe('string');
      const representations = body.variables?.representations as Array<Record<string, unknown>>;
      const variants: Array<[string, unknown]> = [
        ['another query', { ...body, query: USERS_QUERY }],
        ['the same query, reformatted', { ...body, query: `${body.query} ` }],
        ['another representation', { ...body, variables: { representations: [{ ...representations[0], id: 'u3' }, ...representations.slice(1)] } }],
        ['one more representation', { ...body, variables: { representations: [...representations, { __typename: 'User', id: 'u3' }] } }],
        ['no variables', { query: body.query, operationName: body.operationName }],
        ['an extra variable', { ...body, variables: { ...body.variables, extra: true } }],
        ['another operation name', { ...body, operationName: 'Other' }],
        ['no operation name', { query: body.query, variables: body.variables }],
      ];
      const calls = { ...stack.stores.accounts.calls };
      for (const [label, variant] of variants) {
        const refusals = stack.subgraphs.accounts.refusals.length;
        const answer = await direct(stack.subgraphs.accounts.url, variant, token);
        expect(answer.status, label).toBe(401);
        expectRefused(answer);
        expect(String(stack.subgraphs.accounts.refusals[refusals]?.reason), label).toMatch(/rbh/);
      }
      expect(stack.stores.accounts.calls).toEqual(calls);
    });

    it('is refused after expiry (and only after expiry plus the clock tolerance)', async () => {
      const { token, body } = await capture('accounts');
      const exp = (decodeJwt(token).exp as number) * 1000;
      const at = (time: number) =>
        createIdentityVerifier({ subgraph: 'accounts', issuer: stack.identityIssuer, jwks: jwksUrl, currentDate: () => new Date(time) });
      const headers = { 'frontdesk-identity': token };
      expect((await at(Date.now()).verify(headers, body)).subject).toBe('u1');
      expect((await at(exp + 4_000).verify(headers, body)).subject).toBe('u1'); // default tolerance 5 s
      for (const time of [exp + 6_000, exp + 3_600_000]) {
        const error = await at(time).verify(headers, body).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(IdentityError);
        expect((error as IdentityError).code).toBe('UNAUTHENTICATED');
        expect((error as IdentityError).reason).toMatch(/"exp"/);
      }
    });
  });

  describe('forged tokens are refused by a subgraph', () => {
    const body = { query: USERS_QUERY };
    const now = () => Math.floor(Date.now() / 1000);
    const claims = (overrides: Record<string, unknown> = {}) => ({
      iss: stack.identityIssuer,
      aud: 'accounts',
      sub: 'u1',
      iat: now(),
      exp: now() + 60,
      jti: randomUUID(),
      pid: principalId('jwt', idp.issuer, 'u1'),
      scope: ['admin'],
      roles: ['admin'],
      amr: ['jwt'],
      orig_iss: idp.issuer,
      rbh: requestBinding(body),
      ...overrides,
    });
    /** Signs with the gateway's REAL key unless told otherwise, so each case differs from a valid token in one way. */
    const forge = (options: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: Parameters<SignJWT['sign']>[0] } = {}) => {
      const payload = Object.fromEntries(Object.entries(claims(options.claims)).filter(([, v]) => v !== undefined));
      const header = { alg: 'EdDSA', kid: stack.signingKey.kid, typ: IDENTITY_TOKEN_TYPE, ...options.header };
      for (const [name, value] of Object.entries(header)) if (value === undefined) delete (header as Record<string, unknown>)[name];
      return new SignJWT(payload).setProtectedHeader(header as never).sign(options.key ?? stack.signingKey.privateKey);
    };

    it('control: tokens built by the same helpers with the real key and right claims are accepted', async () => {
      for (const token of [
        await forge(),
        await signRaw({ alg: 'EdDSA', kid: stack.signingKey.kid, typ: IDENTITY_TOKEN_TYPE }, claims(), stack.signingKey.privateKey),
      ]) {
        const answer = await direct(stack.subgraphs.accounts.url, body, token);
        expect(answer.status).toBe(200);
        expect(answer.body.errors).toBeUndefined();
        expect((answer.body.data?.users as unknown[]).length).toBeGreaterThan(3);
      }
    });

    it('refuses every forgery with 401 UNAUTHENTICATED, and no resolver runs', async () => {
      const attacker = await generateKeyPair('EdDSA', { extractable: true });
      const attackerJwk = await exportJWK(attacker.publicKey);
      const idpKey = idp.keys[0]!;
      const published = (await (await fetch(jwksUrl)).json()) as JSONWebKeySet;
      const gatewayPublic = published.keys[0]!;
      const gatewayPublicPem = await exportSPKI((await importJWK(gatewayPublic, 'EdDSA', { extractable: true })) as CryptoKey);
      const valid = await forge();
      const hmac = (secret: Uint8Array) =>
        new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: stack.signingKey.kid, typ: IDENTITY_TOKEN_TYPE }).sign(secret);
      const unsigned = (header: Record<string, unknown>) => `${b64url(header)}.${b64url(claims())}.`;
      const jwksRequests = idp.requests.jwks;

      const cases: Array<[string, string | string[]]> = [
        ['signed by another EdDSA key with the same kid', await forge({ key: attacker.privateKey })],
        ['alg none', unsigned({ alg: 'none', typ: IDENTITY_TOKEN_TYPE, kid: stack.signingKey.kid })],
        ['alg none, no typ', unsigned({ alg: 'none' })],
        ['alg NONE', unsigned({ alg: 'NONE', typ: IDENTITY_TOKEN_TYPE })],
        ['valid signature stripped', `${valid.split('.').slice(0, 2).join('.')}.`],
        ['typ JWT', await forge({ header: { typ: 'JWT' } })],
        ['typ at+jwt', await forge({ header: { typ: 'at+jwt' } })],
        ['no typ', await forge({ header: { typ: undefined } })],
        ['typ with a suffix', await forge({ header: { typ: `${IDENTITY_TOKEN_TYPE}x` } })],
        ['an IdP access token presented as identity', await idp.sign({ sub: 'u1', scope: 'admin' })],
        [
          'an IdP-signed token shaped like an identity token',
          await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: idpKey.kid, typ: IDENTITY_TOKEN_TYPE }).sign(idpKey.privateKey),
        ],
        [
          "an IdP-signed token claiming the gateway's kid",
          await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: stack.signingKey.kid, typ: IDENTITY_TOKEN_TYPE }).sign(idpKey.privateKey),
        ],
        ['HS256 keyed with the public JWK JSON', await hmac(new TextEncoder().encode(JSON.stringify(gatewayPublic)))],
        ['HS256 keyed with the raw public key', await hmac(Buffer.from(gatewayPublic.x as string, 'base64url'))],
        ['HS256 keyed with the public key PEM', await hmac(new TextEncoder().encode(gatewayPublicPem))],
        ['aud of another subgraph', await forge({ claims: { aud: 'products' } })],
        ['aud of another subgraph, as an array', await forge({ claims: { aud: ['products', 'reviews'] } })],
        ['iss of the IdP', await forge({ claims: { iss: idp.issuer } })],
        ['expired', await forge({ claims: { iat: now() - 600, exp: now() - 300 } })],
        ['not yet valid', await forge({ claims: { nbf: now() + 300 } })],
        ['issued in the future', await forge({ claims: { iat: now() + 600, exp: now() + 660 } })],
        ['older than the longest lifetime the gateway mints (10 min)', await forge({ claims: { iat: now() - 700, exp: now() + 3_600 } })],
        ['no iat', await forge({ claims: { iat: undefined } })],
        ['no exp', await forge({ claims: { exp: undefined } })],
        ['no jti', await forge({ claims: { jti: undefined } })],
        ['no rbh', await forge({ claims: { rbh: undefined } })],
        ['rbh of another request', await forge({ claims: { rbh: requestBinding({ query: '{ users { id username } }' }) } })],
        ['amr jwt without sub', await forge({ claims: { sub: undefined } })],
        ['amr jwt without pid', await forge({ claims: { pid: undefined } })],
        ['the pid of another sub', await forge({ claims: { pid: principalId('jwt', idp.issuer, 'u2') } })],
        ['amr anonymous with a sub', await forge({ claims: { amr: ['anonymous'] } })],
        ['unknown amr', await forge({ claims: { amr: ['root'] } })],
        ['amr as a string (v0)', await forge({ claims: { amr: 'jwt' } })],
        ['scope as a string (v0)', await forge({ claims: { scope: 'admin' } })],
        ['the v0 typ', await forge({ header: { typ: 'frontdesk-identity+jwt' } })],
        ['roles not a list of strings', await forge({ claims: { roles: 'admin' } })],
        ['an attacker key embedded as jwk', await forge({ key: attacker.privateKey, header: { jwk: attackerJwk } })],
        ['an attacker key set named by jku', await forge({ key: idpKey.privateKey, header: { alg: 'ES256', kid: idpKey.kid, jku: idp.jwksUrl } })],
        [
          'an unknown critical header',
          await signRaw({ alg: 'EdDSA', kid: stack.signingKey.kid, typ: IDENTITY_TOKEN_TYPE, crit: ['x-must'], 'x-must': true }, claims(), stack.signingKey.privateKey),
        ],
        ['truncated', valid.slice(0, -10)],
        ['truncated to header.payload', valid.split('.').slice(0, 2).join('.')],
        ['not a JWS', 'garbage'],
        ['a JWE-shaped value', `${b64url({ alg: 'dir', enc: 'A256GCM' })}..${'A'.repeat(16)}.${'A'.repeat(16)}.${'A'.repeat(22)}`],
        ['oversized', `${valid}${'A'.repeat(9_000)}`],
        ['two identity headers, both valid', [valid, valid]],
        ['two identity headers, valid and garbage', [valid, 'garbage']],
        ['two identity headers, empty and valid', ['', valid]],
        ['an empty identity header', ''],
      ];
      const calls = { ...stack.stores.accounts.calls };
      const refusals = stack.subgraphs.accounts.refusals.length;
      for (const [label, token] of cases) {
        const answer = await direct(stack.subgraphs.accounts.url, body, token);
        expect(answer.status, label).toBe(401);
        expect(answer.body.errors?.[0]?.extensions?.code, label).toBe('UNAUTHENTICATED');
        expect(answer.body.data ?? undefined, label).toBeUndefined();
        // the client learns nothing about why
        expect(answer.body.errors?.[0]?.message, label).toBe('Request did not come through the gateway');
      }
      expect(stack.stores.accounts.calls).toEqual(calls);
      expect(stack.subgraphs.accounts.refusals.length - refusals).toBe(cases.length);
      // a key or URL named inside a token is never fetched
      expect(idp.requests.jwks).toBe(jwksRequests);
      // and the valid token still works afterwards (nothing above was a fluke of a broken subgraph)
      expect((await direct(stack.subgraphs.accounts.url, body, valid)).status).toBe(200);
    });
  });

  describe('spoofed identity headers from a client never reach a subgraph', () => {
    it('strips every identity-like header, Connection-named headers, and client extensions', async () => {
      const captured = await capture('accounts');
      const userToken = await idp.sign({ sub: 'u3', org_id: 'acme' });
      const clientSent = [captured.token, 'forged.identity.token'];
      const spoofed: Array<[string, string]> = [
        ['authorization', `Bearer ${userToken}`],
        ['frontdesk-identity', clientSent[0]!],
        ['Frontdesk-Identity', clientSent[1]!],
        ['FRONTDESK-IDENTITY', clientSent[1]!],
        ['x-frontdesk-identity', clientSent[0]!],
        ['x-user', 'u1'],
        ['X-User-Id', 'u1'],
        ['x-forwarded-user', 'u1'],
        ['x-auth-request-user', 'u1'],
        ['x-remote-user', 'u1'],
        ['remote-user', 'u1'],
        ['x-identity', 'u1'],
        ['x-principal', 'u1'],
        ['x-forwarded-for', '10.0.0.1'],
        ['forwarded', 'for=10.0.0.1;by=gateway'],
        ['x-roles', 'admin'],
        ['x-scope', 'admin'],
        ['cookie', 'session=abc; frontdesk-identity=xyz'],
        ['x-api-key', 'key-123'],
        ['proxy-authorization', 'Basic dTpw'],
        ['x-request-id', 'spoof-1'],
        ['accept-language', 'fr-CH'],
      ];
      const body = { query: SHOP_QUERY, variables: { first: 2 }, operationName: 'Top', extensions: { identity: { sub: 'u1' }, frontdesk: { sub: 'u1', amr: 'service' } } };

      // 1. traceparent is named in Connection: dropped; accept-language is not: forwarded.
      stack.resetReceived();
      const first = await rawPost(stack.url, body, [
        ...spoofed,
        ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
        ['Connection', 'X-Request-Id, TraceParent'],
      ]);
      expect(first.status).toBe(200);
      expect(first.body.errors).toBeUndefined();
      checkReceived({ userToken, clientSent, requestId: first.headers['x-request-id'] as string });
      // x-request-id was named in Connection too: the client's value is not used; the gateway made its own.
      expect(first.headers['x-request-id']).not.toBe('spoof-1');
      expect(first.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      for (const name of SUBGRAPH_NAMES) {
        for (const entry of stack.subgraphs[name].received) {
          expect(entry.headers, name).not.toHaveProperty('traceparent');
          expect(entry.headers['accept-language'], name).toBe('fr-CH');
        }
      }
      await verifyAll('u3');

      // 2. accept-language is named in Connection: dropped; traceparent is not: forwarded.
      stack.resetReceived();
      const second = await rawPost(stack.url, body, [
        ...spoofed,
        ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
        ['connection', 'accept-language'],
      ]);
      expect(second.status).toBe(200);
      checkReceived({ userToken, clientSent, requestId: second.headers['x-request-id'] as string });
      expect(second.headers['x-request-id']).toBe('spoof-1'); // a safe token, not hop-by-hop: kept for tracing
      for (const name of SUBGRAPH_NAMES) {
        for (const entry of stack.subgraphs[name].received) {
          expect(entry.headers.traceparent, name).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
          expect(entry.headers, name).not.toHaveProperty('accept-language');
        }
      }
      await verifyAll('u3');
    });

    it('an anonymous client sending only an identity header is still anonymous at every subgraph', async () => {
      const captured = await capture('accounts', await idp.sign({ sub: 'u1', roles: ['admin'] }));
      stack.resetReceived();
      const answer = await rawPost(stack.url, { query: SHOP_QUERY, variables: { first: 2 } }, [
        ['frontdesk-identity', captured.token],
        ['x-user', 'u1'],
      ]);
      expect(answer.status).toBe(200);
      for (const name of SUBGRAPH_NAMES) {
        expect(stack.subgraphs[name].received.length).toBeGreaterThanOrEqual(1);
        for (const entry of stack.subgraphs[name].received) {
          const claims = await verifyReceived(name, entry);
          expect(claims.amr).toEqual(['anonymous']);
          expect(claims).not.toHaveProperty('sub');
          expect(entry.headers['frontdesk-identity']).not.toBe(captured.token);
          expect(entry.headers).not.toHaveProperty('x-user');
        }
      }
    });

    function checkReceived(expected: { userToken: string; clientSent: string[]; requestId: string }) {
      for (const name of SUBGRAPH_NAMES) {
        expect(stack.subgraphs[name].received.length, name).toBeGreaterThanOrEqual(1);
        for (const entry of stack.subgraphs[name].received) {
          for (const header of Object.keys(entry.headers)) expect(ALLOWED_AT_SUBGRAPH.has(header), `${name} received ${header}`).toBe(true);
          const identity = entry.headers['frontdesk-identity'];
          expect(typeof identity).toBe('string');
          expect(expected.clientSent).not.toContain(identity);
          expect(identity).not.toContain(',');
          expect(entry.headers['x-request-id']).toBe(expected.requestId);
          expect(Object.keys(entry.body).sort()).toEqual(['operationName', 'query', 'variables']);
          const wire = JSON.stringify(entry);
          expect(wire).not.toContain(expected.userToken);
          expect(wire).not.toContain('session=abc');
          expect(wire).not.toContain('key-123');
          expect(wire).not.toContain('10.0.0.1');
          expect(wire).not.toContain('"amr":"service"');
        }
      }
    }

    async function verifyAll(subject: string) {
      for (const name of SUBGRAPH_NAMES) {
        for (const entry of stack.subgraphs[name].received) {
          const claims = await verifyReceived(name, entry);
          expect(claims.sub).toBe(subject);
          expect(claims.amr).toEqual(['jwt']);
          expect(claims.tenant).toBe('acme');
          expect(claims.roles).toEqual([]);
        }
      }
    }
  });

  describe('direct requests to a subgraph', () => {
    it('without a token are refused before any resolver runs: queries, _entities, _service and introspection', async () => {
      const calls = { ...stack.stores.accounts.calls };
      const requests: Array<[SubgraphName, unknown]> = [
        ['accounts', { query: USERS_QUERY }],
        ['accounts', { query: '{ user(id: "u1") { id username } }' }],
        ['accounts', { query: ENTITIES_QUERY, variables: { r: [{ __typename: 'User', id: 'u1' }] } }],
        ['accounts', { query: '{ _service { sdl } }' }],
        ['accounts', { query: 'query __ApolloGetServiceDefinition__ { _service { sdl } }', operationName: '__ApolloGetServiceDefinition__' }],
        ['accounts', { query: '{ __schema { types { name } } }' }],
        ['accounts', { query: '{ __typename }' }],
        ['products', { query: '{ product(upc: "p001") { name } }' }],
        ['products', { query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Product { name } } }', variables: { r: [{ __typename: 'Product', upc: 'p001' }] } }],
        ['reviews', { query: '{ _service { sdl } }' }],
      ];
      for (const [name, body] of requests) {
        const refusals = stack.subgraphs[name].refusals.length;
        const answer = await direct(stack.subgraphs[name].url, body);
        expectRefused(answer);
        expect(JSON.stringify(answer.body)).not.toMatch(/type User|__Schema|"name":"Query"/);
        expect(String(stack.subgraphs[name].refusals[refusals]?.reason)).toMatch(/no frontdesk-identity header/);
      }
      expect(stack.stores.accounts.calls).toEqual(calls);
      // a batched (array) body has nothing to bind to and is refused too
      expectRefused(await direct(stack.subgraphs.accounts.url, [{ query: USERS_QUERY }, { query: USERS_QUERY }], (await capture('accounts')).token));
    });

    it('allowSdlWithoutIdentity lets exactly `{ _service { sdl } }` through; the kit also verifies against the JWKS URL', async () => {
      const accounts = createAccountsSubgraph();
      const refusals: Array<Record<string, unknown>> = [];
      let dev: RunningSubgraph | undefined;
      try {
        dev = await runSubgraph(accounts, {
          port: 0,
          identity: { jwks: jwksUrl, issuer: stack.identityIssuer },
          allowSdlWithoutIdentity: true,
          log: (entry) => void (entry.msg === 'request refused' && refusals.push(entry)),
        });
        for (const query of ['{ _service { sdl } }', 'query Introspect { _service { sdl } }']) {
          const sdl = await direct(dev.url, { query });
          expect(sdl.status, query).toBe(200);
          expect(String((sdl.body.data?._service as { sdl: string }).sdl)).toMatch(/type User\s+@key\(fields: "id"\)/);
        }
        const refused = [
          '{ _service { sdl } users { id } }',
          '{ users { id } }',
          '{ _service { sdl } __schema { types { name } } }',
          '{ __schema { types { name } } }',
          '{ sdl: _service { sdl } x: users { id } }',
          '{ a: _service { sdl } }',
          '{ _service { sdl } ...F } fragment F on Query { users { id } }',
          'query { ...F } fragment F on Query { _service { sdl } }',
          '{ _service { sdl @include(if: true) } }',
          'query A { _service { sdl } } query B { users { id } }',
        ];
        for (const query of refused) expectRefused(await direct(dev.url, { query, operationName: query.includes('query B') ? 'B' : undefined }));
        expectRefused(await direct(dev.url, { query: ENTITIES_QUERY, variables: { r: [{ __typename: 'User', id: 'u1' }] } }));
        expect(accounts.store.calls).toEqual({ findUsersByIds: 0, listUsers: 0 });
        expect(refusals.length).toBe(refused.length + 1);

        // JWKS over HTTP: a token the gateway minted for accounts verifies here (keys fetched from the gateway)
        const { token, body } = await capture('accounts');
        const answer = await direct(dev.url, body, token);
        expect(answer.status).toBe(200);
        expect(answer.body.errors).toBeUndefined();
        expect(accounts.store.calls.findUsersByIds).toBe(1);
        // and a token for another subgraph, or signed by an unknown key, is still refused over HTTP
        const products = await capture('products');
        expectRefused(await direct(dev.url, products.body, products.token));
        const stranger = await generateKeyPair('EdDSA');
        const strangerToken = await new SignJWT({ ...decodeJwt(token) })
          .setProtectedHeader({ alg: 'EdDSA', kid: 'unknown-kid', typ: IDENTITY_TOKEN_TYPE })
          .sign(stranger.privateKey);
        expectRefused(await direct(dev.url, body, strangerToken));
      } finally {
        await dev?.close();
      }
    });
  });

  it('concurrent requests from different users: each subgraph call carries its own caller’s identity', async () => {
    const users = ['u1', 'u2', 'u3'];
    const tokens = new Map(await Promise.all(users.map(async (sub) => [sub, await idp.sign({ sub, org_id: `org-${sub}`, roles: [`role-${sub}`] })] as const)));
    const callers = [...users, 'anonymous'];
    const owner = new Map<string, string>();
    const jobs: Array<Promise<{ requestId: string; result: Awaited<ReturnType<Stack['query']>> }>> = [];
    stack.resetReceived();
    stack.overloadEvents.length = 0;
    for (let i = 0; i < 20; i++) {
      for (const caller of callers) {
        const requestId = `c-${caller}-${i}-${randomUUID().slice(0, 8)}`;
        owner.set(requestId, caller);
        const token = tokens.get(caller);
        // alternate the shape so concurrent plans differ
        const body = i % 2 === 0 ? { query: SHOP_QUERY, variables: { first: 1 + (i % 3) } } : { query: '{ user(id: "u2") { id username } }' };
        jobs.push(stack.query(body, { ...(token ? { token } : {}), headers: { 'x-request-id': requestId } }).then((result) => ({ requestId, result })));
      }
    }
    // settle everything before asserting, so no request is still in flight when the next test starts
    const settled = await Promise.allSettled(jobs);
    for (const outcome of settled) {
      expect(outcome.status).toBe('fulfilled');
      const { requestId, result } = (outcome as PromiseFulfilledResult<Awaited<(typeof jobs)[number]>>).value;
      expect(result.status).toBe(200);
      expect(result.body.errors).toBeUndefined();
      expect(result.headers.get('x-request-id')).toBe(requestId);
    }

    const seen = new Map<string, number>();
    const keys = createLocalJWKSet((await (await fetch(jwksUrl)).json()) as JSONWebKeySet);
    for (const name of SUBGRAPH_NAMES) {
      for (const entry of stack.subgraphs[name].received) {
        const requestId = entry.headers['x-request-id'] as string;
        const caller = owner.get(requestId);
        expect(caller, `${name} got a request id nobody sent: ${requestId}`).toBeDefined();
        seen.set(requestId, (seen.get(requestId) ?? 0) + 1);
        const { payload } = await jwtVerify(entry.headers['frontdesk-identity'] as string, keys, { issuer: stack.identityIssuer, audience: name, typ: IDENTITY_TOKEN_TYPE });
        expect(payload.rbh).toBe(requestBinding(entry.body));
        if (caller === 'anonymous') {
          expect(payload.amr).toEqual(['anonymous']);
          expect(payload).not.toHaveProperty('sub');
        } else {
          expect(payload.sub, `${name} ${requestId}`).toBe(caller);
          expect(payload.tenant).toBe(`org-${caller}`);
          expect(payload.roles).toEqual([`role-${caller}`]);
        }
      }
    }
    // every request reached the subgraphs it needed — 3 fetches for the shop query, 1 (accounts) for the
    // other — or shared an identical fetch in flight of the same caller (docs/overload.md): the checks
    // above hold for every fetch made, so no request ever shared another caller's.
    const total = SUBGRAPH_NAMES.reduce((sum, name) => sum + stack.subgraphs[name].received.length, 0);
    const shared = stack.overloadEvents.filter((event) => event.type === 'fetch shared').length;
    expect(total + shared).toBe(callers.length * (10 * 3 + 10 * 1));
    expect(seen.size).toBeLessThanOrEqual(owner.size);
  });

  describe('the gateway on its own behalf (health checks, schema loading)', () => {
    it('carries a service identity: sub = the gateway, amr service — never a user’s', async () => {
      const log = createLogger({ level: 'silent' });
      const dispatcher = new Agent();
      // The service principal gateway/server.ts gives every data source.
      const service = servicePrincipal(stack.identityIssuer);
      const source = new SubgraphDataSource({
        name: 'accounts',
        url: stack.subgraphs.accounts.url,
        timeoutMs: 5_000,
        dispatcher,
        mint: createIdentityMinter({ issuer: stack.identityIssuer, key: stack.signingKey, ttlMs: 60_000 }),
        identityHeader: 'frontdesk-identity',
        forwardHeaders: ['x-request-id', 'traceparent'],
        servicePrincipal: service,
        log,
        production: false,
        guard: new SubgraphGuard('accounts', { concurrency: 8, queueTimeoutMs: 1_000, failures: 0, coolDownMs: 1_000, dedup: true, log, onEvent: () => {} }),
      });
      const user: Principal = { ...service, subject: 'u1', method: 'jwt', issuer: idp.issuer, roles: ['admin'] };
      try {
        const kinds = [
          ['health check', 'query __ApolloServiceHealthCheck__ { __typename }'],
          ['loading schema', 'query __ApolloGetServiceDefinition__ { _service { sdl } }'],
        ] as const;
        for (const [kind, query] of kinds) {
          stack.resetReceived();
          // a user principal lying around in the context must not be picked up
          const response = await source.process({ kind, request: { query }, context: { principal: user, requestId: 'x' } } as never);
          expect(response.errors, kind).toBeUndefined();
          expect(response.data, kind).toBeTruthy();
          const entry = stack.subgraphs.accounts.received[0]!;
          const claims = await verifyReceived('accounts', entry);
          expect(claims.sub, kind).toBe(stack.identityIssuer);
          expect(claims.amr, kind).toEqual(['service']);
          expect(claims.pid, kind).toBe(principalId('service', stack.identityIssuer, stack.identityIssuer));
          expect(claims).not.toHaveProperty('orig_iss');
          expect(claims.scope).toEqual([]);
          expect(claims.roles).toEqual([]);
          expect(entry.headers).not.toHaveProperty('x-request-id');
        }
      } finally {
        await dispatcher.close();
      }
    });
  });
});

describe('identity propagation with the subgraphs’ jti replay cache on', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ replay: true });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a token captured in flight is refused the second time; normal traffic is unaffected', async () => {
    for (let round = 0; round < 3; round++) {
      stack.resetReceived();
      const result = await stack.query({ query: SHOP_QUERY, variables: { first: 2 } });
      expect(result.status).toBe(200);
      expect(result.body.errors).toBeUndefined();
    }
    for (const name of SUBGRAPH_NAMES) {
      const entry = stack.subgraphs[name].received[0]!;
      const refusals = stack.subgraphs[name].refusals.length;
      expectRefused(await direct(stack.subgraphs[name].url, entry.body, entry.headers['frontdesk-identity'] as string));
      expect(String(stack.subgraphs[name].refusals[refusals]?.reason)).toMatch(/replayed/);
    }
  });
});

