/**
 * TLS for tests: a fresh CA per run with server and client certificates (dev/certificates.ts, openssl),
 * and a POST over HTTPS presenting a client certificate of the test's choosing.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createCa, issueCertificate, type Ca, type Issued } from '../../dev/certificates.ts';

export interface TestPki {
  ca: Ca;
  /** Another CA nobody trusts. */
  rogue: Ca;
  server: Issued;
  client(name: string, options: { subject?: string; sans?: string[]; expired?: boolean; rogue?: boolean }): Issued;
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-pki-'));
  const ca = createCa(join(dir, 'ca'), 'test-ca');
  const rogue = createCa(join(dir, 'rogue'), 'rogue-ca');
  const server = issueCertificate(ca, { name: 'gateway', subject: '/CN=localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' });
  return {
    ca,
    rogue,
    server,
    client: (name, options) =>
      issueCertificate(options.rogue ? rogue : ca, {
        name,
        subject: options.subject ?? `/CN=${name}`,
        usage: 'client',
        ...(options.sans ? { sans: options.sans } : {}),
        ...(options.expired ? { startDate: '20200101000000Z', endDate: '20200102000000Z' } : {}),
      }),
  };
}

/** RFC 8705 x5t#S256 of a PEM certificate file. */
export function thumbprintOf(certFile: string): string {
  return createHash('sha256').update(new X509Certificate(readFileSync(certFile)).raw).digest('base64url');
}

export interface TlsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  /** SHA-256 fingerprint of the certificate the server presented. */
  serverFingerprint: string;
}

/** POSTs JSON to an https URL trusting `ca`, presenting `client` if given, on a fresh connection. */
export function tlsPost(url: string, ca: string, body: unknown, options: { client?: Issued; headers?: Record<string, string> } = {}): Promise<TlsResult> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      ca: readFileSync(ca),
      ...(options.client ? { cert: readFileSync(options.client.cert), key: readFileSync(options.client.key) } : {}),
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...options.headers },
    });
    req.on('response', (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as TlsResult['body'], serverFingerprint: fingerprint });
        } catch {
          reject(new Error(`non-JSON answer ${res.statusCode}: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
