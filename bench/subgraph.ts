/**
 * A bench subgraph process: the example subgraph with the kit's verification and directives, serving both
 * gateways of the comparison. The baseline gateway sends no identity token, so — in this harness only —
 * a request WITHOUT the header runs as anonymous; a request WITH one is verified strictly (a bad token is
 * still refused). Never copy this context into a real subgraph: the kit refuses token-less requests.
 *
 * With BENCH_FAULTS=1 (bench/overload.ts) it also counts the requests it gets and can be told to stall
 * (never answer) or fail (answer 500): `POST /_bench/fault` with `ok`, `stall` or `fail`, `GET /_bench/count`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ANONYMOUS_FIELDS, createContextFactory, createIdentityVerifier, createSubgraphHandler, IDENTITY_HEADER, readHeader, type Identity, type SubgraphContext } from '@frontdesk/kit';
import { createExampleSubgraph } from '../subgraphs/shop/registry.ts';
import type { SubgraphName } from '../subgraphs/shop/example.ts';

const name = process.argv[2] as SubgraphName;
const subgraph = createExampleSubgraph[name]();
const verifier = createIdentityVerifier({ subgraph: name, issuer: process.env.BENCH_GATEWAY_ISSUER as string, jwks: process.env.BENCH_GATEWAY_JWKS as string });
const strict = createContextFactory({ verifier, loaders: subgraph.loaders });
const ANONYMOUS: Identity = Object.freeze({ ...ANONYMOUS_FIELDS, expiresAt: new Date(0), tokenId: '', authenticated: false });

const apollo = new ApolloServer<SubgraphContext<unknown>>({ schema: subgraph.schema, logger: { debug() {}, info() {}, warn() {}, error: (m) => console.error(m) } });
await apollo.start();
const handler = createSubgraphHandler({
  server: apollo,
  context: async (request) => {
    if (readHeader(request.headers, IDENTITY_HEADER) === undefined) return { identity: ANONYMOUS, loaders: subgraph.loaders(ANONYMOUS), requestId: undefined };
    return strict(request);
  },
});
let fault: 'ok' | 'stall' | 'fail' = 'ok';
let received = 0;
const faults = process.env.BENCH_FAULTS === '1';
const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (!faults) return void handler(req, res);
  if (req.url === '/_bench/count') return void res.end(JSON.stringify({ received }));
  if (req.url === '/_bench/fault') {
    let mode = '';
    req.on('data', (chunk: Buffer) => void (mode += chunk.toString()));
    req.on('end', () => {
      fault = mode as typeof fault;
      res.end(JSON.stringify({ fault }));
    });
    return;
  }
  received++;
  if (fault === 'stall') return; // held until the gateway gives up and closes the connection
  if (fault === 'fail') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"message":"bench: failing on purpose"}]}');
  void handler(req, res);
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
