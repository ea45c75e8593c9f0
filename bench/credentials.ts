/**
 * The credential scenarios of `npm run bench` (issue 12 "Figures"), frontdesk against itself, side by
 * side in one run: an introspected opaque token after its first request (a cache hit) vs a cached JWT; an
 * API key vs a JWT; the 3-fetch query over HTTPS with a client certificate (mTLS principal) vs over HTTP
 * with a JWT. Sets up what they need: a tiny introspection server (in the runner, so on the shared core;
 * after warm-up every token is a cache hit and it is not asked), an API key store, a CA with server and
 * client certificates (openssl), and the config of a second, HTTPS frontdesk.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueCertificate } from '../dev/certificates.ts';
import { createApiKey } from '../gateway/auth/api-keys/manage.ts';

export interface CredentialSetup {
  /** YAML lines appended under `auth:` of the frontdesk config. */
  authYaml: string;
  opaqueFile: string;
  apiKeysFile: string;
  /** An empty token file: the mTLS requests carry no header credential. */
  noneFile: string;
  tls: { ca: string; cert: string; key: string };
  /** Config of the HTTPS frontdesk (same supergraph, identity key and JWT issuer). */
  tlsConfig: string;
  introspection: Server;
}

export async function setupCredentials(dir: string, pool: number, options: { supergraphFile: string; idpJwks: string; identityKey: string; port: number }): Promise<CredentialSetup> {
  const opaque = Array.from({ length: pool }, () => randomBytes(32).toString('base64url'));
  const known = new Set(opaque);
  const introspection = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const token = new URLSearchParams(Buffer.concat(chunks).toString()).get('token') ?? '';
      const now = Math.floor(Date.now() / 1000);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(known.has(token) ? { active: true, iss: 'https://idp.bench', aud: 'shop-api', sub: `o-${token.slice(0, 6)}`, scope: 'products:read', roles: ['customer'], token_type: 'Bearer', exp: now + 7_200, iat: now } : { active: false }));
    });
  });
  await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', resolve));
  introspection.unref(); // never what keeps the runner alive
  const endpoint = `http://127.0.0.1:${(introspection.address() as { port: number }).port}/introspect`;

  const apiKeysFile = join(dir, 'api-keys.yaml');
  writeFileSync(apiKeysFile, 'keys: []\n');
  const keys = Array.from({ length: Math.min(pool, 200) }, (_, i) => createApiKey(apiKeysFile, { name: `bench-${i}`, scopes: ['products:read'], roles: ['customer'] }).key);

  const pki = join(dir, 'tls');
  mkdirSync(pki, { recursive: true });
  const ca = createCa(pki, 'ca');
  const server = issueCertificate(ca, { name: 'gateway', subject: '/CN=localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' });
  const client = issueCertificate(ca, { name: 'client', subject: '/CN=bench-service', sans: ['URI:spiffe://bench/service'], usage: 'client' });

  const write = (name: string, value: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(value));
    return file;
  };
  const tlsConfig = join(dir, 'gateway-tls.yaml');
  writeFileSync(
    tlsConfig,
    `listen: { host: 127.0.0.1, port: ${options.port}, tls: { cert: ${server.cert}, key: ${server.key}, clientCa: ${ca.cert} } }
supergraph: ${options.supergraphFile}
logLevel: warn
auth:
  anonymous: false
  jwt: [{ issuer: https://idp.bench, jwks: ${options.idpJwks}, audience: [shop-api], algorithms: [ES256], typ: at+jwt }]
  mtls: { identities: [{ match: { uriSan: "spiffe://bench/service" }, subject: bench-service, scopes: [products:read], roles: [customer] }] }
identity:
  issuer: https://gateway.bench
  keys: [{ file: ${options.identityKey} }]
`,
  );
  return {
    authYaml: `  introspection: [{ issuer: https://idp.bench, endpoint: ${endpoint}, clientId: bench, clientSecret: bench, audience: [shop-api], claims: { roles: roles } }]
  apiKeys: { file: ${apiKeysFile} }
`,
    opaqueFile: write('opaque.json', opaque),
    apiKeysFile: write('api-keys.json', keys),
    noneFile: write('none.json', []),
    tls: { ca: ca.cert, cert: client.cert, key: client.key },
    tlsConfig,
    introspection,
  };
}
