/**
 * Test and development certificates, made with the `openssl` command line (OpenSSL 3): a CA, server
 * certificates for loopback, client certificates with URI/DNS SANs, and — for tests — ones already
 * expired (`openssl ca` takes explicit dates, `openssl x509` cannot set a past notAfter). EC P-256 keys.
 * `npm start` uses it for the dev certificates of its first run; tests make their own CA per run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Ca {
  dir: string;
  cert: string;
  key: string;
}

export interface Issued {
  cert: string;
  key: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** A self-signed CA in `dir` (created). */
export function createCa(dir: string, name: string): Ca {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
  openssl(['req', '-x509', '-new', '-key', key, '-sha256', '-days', '3650', '-subj', `/O=frontdesk dev/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', cert], dir);
  writeFileSync(join(dir, `${name}.index`), '');
  return { dir, cert, key };
}

export interface IssueOptions {
  /** File name stem. */
  name: string;
  /** Subject, e.g. `/O=Shop/CN=orders`. */
  subject: string;
  /** subjectAltName entries, e.g. `URI:spiffe://shop/orders`, `DNS:localhost`, `IP:127.0.0.1`. */
  sans?: string[];
  usage: 'server' | 'client';
  /** Validity: days from now (default 825), or explicit `YYYYMMDDHHMMSSZ` dates. */
  days?: number;
  startDate?: string;
  endDate?: string;
}

/** A certificate signed by `ca`, with its key, in the CA's folder. */
export function issueCertificate(ca: Ca, options: IssueOptions): Issued {
  const key = join(ca.dir, `${options.name}.key`);
  const csr = join(ca.dir, `${options.name}.csr`);
  const cert = join(ca.dir, `${options.name}.crt`);
  const config = join(ca.dir, `${options.name}.cnf`);
  const stem = ca.cert.replace(/\.crt$/, '');
  writeFileSync(
    config,
    [
      '[ca]',
      'default_ca = dev',
      '[dev]',
      `database = ${stem}.index`,
      `new_certs_dir = ${ca.dir}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'rand_serial = yes',
      'copy_extensions = none',
      // `openssl ca` writes the subject in this order: O before CN, as the request gives it.
      '[any]',
      'organizationName = optional',
      'commonName = supplied',
      '[leaf]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      `extendedKeyUsage = ${options.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ...(options.sans?.length ? [`subjectAltName = ${options.sans.join(',')}`] : []),
      '',
    ].join('\n'),
  );
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], ca.dir);
  openssl(['req', '-new', '-key', key, '-subj', options.subject, '-out', csr], ca.dir);
  const validity = options.startDate && options.endDate ? ['-startdate', options.startDate, '-enddate', options.endDate] : ['-days', String(options.days ?? 825)];
  openssl(['ca', '-batch', '-notext', '-config', config, '-extensions', 'leaf', '-cert', ca.cert, '-keyfile', ca.key, '-in', csr, '-out', cert, ...validity], ca.dir);
  return { cert, key };
}
