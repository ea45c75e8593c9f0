/**
 * TLS to subgraphs (issue 12, item 4): `subgraphs.<name>.tls` / `subgraphDefaults.tls` make the pooled
 * undici Agent verify the subgraph's certificate against `ca` and present the gateway's own certificate
 * (mTLS). Here the products subgraph sits behind an HTTPS front that requires a client certificate from
 * the test CA: with the right `tls` the query runs and the subgraph sees the gateway's certificate;
 * without a client certificate, or trusting another CA, the products fetch fails (SUBGRAPH_UNAVAILABLE).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../support/stack.ts';
import { createTestPki, type TestPki } from '../../support/tls.ts';

let pki: TestPki;
const fronts: Server[] = [];
const stacks: Stack[] = [];
const presented: string[] = [];
const QUERY = { query: '{ topProducts(first: 1) { upc name } }' };

/** A stack whose products subgraph is reached over HTTPS requiring a client certificate, with `tls` as given. */
async function stackWith(tls: (pki: TestPki) => Record<string, string> | undefined, where: 'subgraph' | 'defaults' = 'subgraph'): Promise<Stack> {
  const tlsConfig = tls(pki);
  const stack = await startStack({
    ...(where === 'defaults' && tlsConfig ? { config: { subgraphDefaults: { tls: tlsConfig } } } : {}),
    subgraphConfig: async (name, subgraph) => {
      if (name !== 'products') return undefined;
      const front = createServer({ cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key), ca: readFileSync(pki.ca.cert), requestCert: true, rejectUnauthorized: true }, (req, res) => {
        presented.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? ''));
        subgraph.server.emit('request', req, res);
      });
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
      fronts.push(front);
      const url = `https://127.0.0.1:${(front.address() as AddressInfo).port}/graphql`;
      return where === 'subgraph' && tlsConfig ? { url, tls: tlsConfig } : { url };
    },
  });
  stacks.push(stack);
  return stack;
}

beforeAll(() => {
  pki = createTestPki();
});
afterAll(async () => {
  await Promise.all(stacks.map((stack) => stack.close()));
  for (const front of fronts) {
    front.closeAllConnections();
    front.close();
  }
});

describe('TLS to subgraphs', () => {
  it.each(['subgraph', 'defaults'] as const)('with ca, cert and key (%s): the subgraph verifies the gateway and answers', async (where) => {
    const client = pki.client(`gateway-client-${where}`, { subject: '/CN=frontdesk-gateway' });
    const stack = await stackWith(() => ({ ca: pki.ca.cert, cert: client.cert, key: client.key }), where);
    presented.length = 0;
    const result = await stack.query(QUERY);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.topProducts).toHaveLength(1);
    expect(presented).toEqual(['frontdesk-gateway']);
  });

  it.each<[string, (pki: TestPki) => Record<string, string> | undefined]>([
    ['no tls at all (Node does not trust the test CA)', () => undefined],
    ['the CA but no client certificate', (p) => ({ ca: p.ca.cert })],
    ['a client certificate but another CA trusted', (p) => {
      const client = p.client('gateway-client-rogue-ca', { subject: '/CN=frontdesk-gateway' });
      return { ca: p.rogue.cert, cert: client.cert, key: client.key };
    }],
  ])('%s: SUBGRAPH_UNAVAILABLE at the products path', async (_name, tls) => {
    const stack = await stackWith(tls);
    const result = await stack.query(QUERY);
    expect(result.status).toBe(200);
    expect(result.body.errors?.[0]).toMatchObject({ path: ['topProducts'], extensions: { code: 'SUBGRAPH_UNAVAILABLE' } });
  });
});
