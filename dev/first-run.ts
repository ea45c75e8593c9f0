/**
 * What `npm start` makes on its first run, like the dev signing key: the TLS certificates of the HTTPS
 * gateway (a dev CA, a server certificate for localhost, a client certificate for the demo service
 * `spiffe://frontdesk.dev/ci-runner`) and an API key store holding one demo key. Kept in .dev/ (ignored by
 * git); delete a file to have it made again.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApiKey } from '../gateway/auth/api-keys/manage.ts';
import { createCa, issueCertificate } from './certificates.ts';

export function ensureDevCertificates(root: string): { dir: string } {
  const dir = join(root, '.dev/tls');
  if (!existsSync(join(dir, 'gateway.crt')) || !existsSync(join(dir, 'ci-runner.crt'))) {
    const ca = createCa(dir, 'ca');
    issueCertificate(ca, { name: 'gateway', subject: '/CN=localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' });
    issueCertificate(ca, { name: 'ci-runner', subject: '/O=frontdesk dev/CN=ci-runner', sans: ['URI:spiffe://frontdesk.dev/ci-runner'], usage: 'client' });
  }
  return { dir };
}

/** The demo API key (created once; the store keeps only its hash, the key itself is kept for the README's curl). */
export function ensureDemoApiKey(root: string): { file: string; keyFile: string } {
  mkdirSync(join(root, '.dev'), { recursive: true });
  const file = join(root, '.dev/api-keys.yaml');
  const keyFile = join(root, '.dev/demo-api-key');
  if (!existsSync(file) || !existsSync(keyFile)) {
    if (!existsSync(file)) writeFileSync(file, 'keys: []\n', { mode: 0o600 });
    const { key } = createApiKey(file, { name: 'demo-partner', owner: 'demo-partner', scopes: ['products:read'], roles: ['partner'] });
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  }
  return { file, keyFile };
}
