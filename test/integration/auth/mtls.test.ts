/**
 * HTTPS and mutual TLS (README "HTTPS and client certificates", issue 12): a client certificate chaining
 * to `listen.tls.clientCa` and matching `auth.mtls.identities` is that identity (`amr: ["mtls"]`); no
 * certificate, an expired one, one from another CA or one matching nothing is a JSON 401 — not a TLS alert.
 * Certificate-bound tokens (RFC 8705) are accepted only over a connection with that certificate.
 * Certificates are made at test time with openssl; everything runs on loopback, port 0.
 */
import { copyFileSync } from 'node:fs';
import { issueCertificate } from '../../../dev/certificates.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { startStack, type Stack } from '../../support/stack.ts';
import { createTestPki, thumbprintOf, tlsPost, type TestPki, type TlsResult } from '../../support/tls.ts';
import { QUERY, expectNoSubgraphCalled, waitUntil } from './support.ts';

let pki: TestPki;
let idp: TestIssuer;
let stack: Stack;
let required: Stack;
let certs: Record<'orders' | 'billing' | 'reports' | 'stranger' | 'expired' | 'rogue', { cert: string; key: string }>;

const NOT_ACCEPTED = 'The client certificate is not accepted';
const challenge = (error: string, description: string) => `Bearer realm="frontdesk", error="${error}", error_description="${description}"`;

function expectRefused(target: Stack, result: TlsResult, error: string, description: string): void {
  expect({ status: result.status, challenge: result.headers['www-authenticate'], body: result.body }).toEqual({
    status: 401,
    challenge: challenge(error, description),
    body: { errors: [{ message: description, extensions: { code: 'UNAUTHENTICATED' } }] },
  });
  expectNoSubgraphCalled(target);
}

const tlsConfig = (clientCert: 'optional' | 'required') => ({ listen: { host: '127.0.0.1', port: 0, tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert, clientCert } } });
const mtls = {
  principalNamespace: 'mesh',
  identities: [
    { match: { uriSan: 'spiffe://shop.test/ns/prod/sa/orders' }, subject: 'orders-service', roles: ['service'], scopes: ['products:read'] },
    { match: { dnsSan: 'billing.internal' }, subject: 'billing', tenant: 'acme' },
    { match: { subject: 'O=Shop,CN=reports' }, subject: 'reports' },
  ],
};

beforeAll(async () => {
  pki = createTestPki();
  certs = {
    orders: pki.client('orders', { sans: ['URI:spiffe://shop.test/ns/prod/sa/orders'] }),
    billing: pki.client('billing', { sans: ['DNS:billing.internal'] }),
    reports: pki.client('reports', { subject: '/O=Shop/CN=reports' }),
    stranger: pki.client('stranger', { sans: ['URI:spiffe://shop.test/ns/prod/sa/stranger', 'DNS:orders.internal'] }),
    expired: pki.client('expired', { sans: ['URI:spiffe://shop.test/ns/prod/sa/orders'], expired: true }),
    rogue: pki.client('rogue', { sans: ['URI:spiffe://shop.test/ns/prod/sa/orders'], rogue: true }),
  };
  idp = await startTestIssuer();
  const jwt = [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: [idp.audience], algorithms: ['ES256'] }];
  stack = await startStack({ auth: { anonymous: true, jwt, mtls }, config: tlsConfig('optional') });
  required = await startStack({ auth: { anonymous: true, jwt, mtls }, config: tlsConfig('required') });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await required?.close();
  await idp?.close();
});
beforeEach(() => {
  stack.resetReceived();
  required.resetReceived();
});

const post = (target: Stack, client?: { cert: string; key: string }, headers?: Record<string, string>) =>
  tlsPost(target.url, pki.ca.cert, QUERY, { ...(client ? { client } : {}), ...(headers ? { headers } : {}) });

describe('client certificates', () => {
  it.each([
    ['a URI SAN (SPIFFE)', 'orders', { sub: 'orders-service', pid: 'mtls:mesh:orders-service', roles: ['service'], scope: ['products:read'] }],
    ['a DNS SAN', 'billing', { sub: 'billing', pid: 'mtls:mesh:billing', tenant: 'acme' }],
    ['the subject', 'reports', { sub: 'reports', pid: 'mtls:mesh:reports' }],
  ] as const)('matched by %s: the mapped principal, amr mtls', async (_how, name, claims) => {
    const result = await post(stack, certs[name]);
    expect(result.status).toBe(200);
    expect(stack.subgraphs.products.received[0]?.identity?.claims).toMatchObject({ amr: ['mtls'], ...claims });
  });

  it('no certificate with clientCert optional: anonymous, as without TLS', async () => {
    const result = await post(stack);
    expect(result.status).toBe(200);
    expect(stack.subgraphs.products.received[0]?.identity?.claims.amr).toEqual(['anonymous']);
  });

  it.each(['expired', 'rogue', 'stranger'] as const)('a %s certificate: a JSON 401, not a TLS alert', async (name) => {
    expectRefused(stack, await post(stack, certs[name]), 'invalid_token', NOT_ACCEPTED);
  });

  it('clientCert required: no certificate, or one from another CA, is a JSON 401; a valid one passes', async () => {
    expectRefused(required, await post(required), 'invalid_request', 'A valid client certificate is required');
    expectRefused(required, await post(required, certs.rogue), 'invalid_request', 'A valid client certificate is required');
    expectRefused(required, await post(required, certs.expired), 'invalid_request', 'A valid client certificate is required');
    expect((await post(required, certs.orders)).status).toBe(200);
  });
});

describe('certificate-bound tokens (RFC 8705)', () => {
  it('accepted only over a connection presenting that certificate', async () => {
    const bound = await idp.sign({ sub: 'alice', cnf: { 'x5t#S256': thumbprintOf(certs.orders.cert) } });
    const authorization = `Bearer ${bound}`;
    const ok = await post(stack, certs.orders, { authorization });
    expect(ok.status).toBe(200);
    expect(stack.subgraphs.products.received[0]?.identity?.claims).toMatchObject({ amr: ['jwt'], sub: 'alice' });
    stack.resetReceived();
    for (const client of [undefined, certs.billing, certs.rogue]) {
      expectRefused(stack, await post(stack, client, { authorization }), 'invalid_token', 'The access token is bound to a client certificate');
    }
  });

  it('an unbound token beside an identity certificate is two credentials: 401 invalid_request', async () => {
    const token = await idp.sign({ sub: 'alice' });
    expectRefused(stack, await post(stack, certs.orders, { authorization: `Bearer ${token}` }), 'invalid_request', 'Send exactly one credential');
  });

  it('a bound token is useless over plain HTTP, on a gateway without TLS or mTLS identities', async () => {
    const plain = await startStack({ auth: { anonymous: true, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: [idp.audience], algorithms: ['ES256'] }] } });
    try {
      const bound = await idp.sign({ sub: 'alice', cnf: { 'x5t#S256': thumbprintOf(certs.orders.cert) } });
      const result = await plain.query(QUERY, { token: bound });
      expect({ status: result.status, challenge: result.headers.get('www-authenticate') }).toEqual({ status: 401, challenge: challenge('invalid_token', 'The access token is bound to a client certificate') });
      expectNoSubgraphCalled(plain);
    } finally {
      await plain.close();
    }
  });
});

describe('certificate rotation', () => {
  it('a new certificate and key written over the files are served without a restart', async () => {
    const config = tlsConfig('optional').listen.tls;
    const dir = pki.ca.dir;
    const cert = `${dir}/rotating.crt`;
    const key = `${dir}/rotating.key`;
    copyFileSync(pki.server.cert, cert);
    copyFileSync(pki.server.key, key);
    const rotating = await startStack({ auth: { anonymous: true }, config: { listen: { host: '127.0.0.1', port: 0, tls: { ...config, cert, key } } } });
    try {
      const before = (await tlsPost(rotating.url, pki.ca.cert, QUERY)).serverFingerprint;
      const fresh = issueCertificate(pki.ca, { name: 'gateway-2', subject: '/CN=localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' });
      copyFileSync(fresh.key, key);
      copyFileSync(fresh.cert, cert);
      await waitUntil(async () => (await tlsPost(rotating.url, pki.ca.cert, QUERY)).serverFingerprint !== before, 5_000, 200);
      expect((await tlsPost(rotating.url, pki.ca.cert, QUERY)).status).toBe(200);
    } finally {
      await rotating.close();
    }
  });
});
