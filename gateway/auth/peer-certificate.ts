/**
 * The TLS client certificate of a connection, read once per connection (keep-alive requests share it).
 * The listener requests a certificate but never refuses one at the TLS layer (gateway/tls/listener.ts),
 * so a failure can be a JSON 401 a client reads rather than a TLS alert; whether it chains to
 * `listen.tls.clientCa` is Node's verdict (`socket.authorized`), and validity dates are checked again
 * here on every request, since a connection can outlive its certificate.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface PeerCertificate {
  /** Chains to the configured client CA (Node's `socket.authorized`, checked at the handshake). */
  readonly authorized: boolean;
  /** Why not, for the log (`CERT_HAS_EXPIRED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`…). */
  readonly authorizationError: string | undefined;
  /** RFC 8705 §3.1 `x5t#S256`: base64url SHA-256 of the DER certificate. */
  readonly thumbprint: string;
  /** Subject DN in the certificate's RDN order, joined by `,` (`O=Shop,CN=orders`). */
  readonly subject: string;
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  readonly validFromMs: number;
  readonly validToMs: number;
}

const byConnection = new WeakMap<TLSSocket, PeerCertificate | null>();

/** The client certificate of `socket`, or undefined on plain HTTP or when the client sent none. */
export function peerCertificateOf(socket: Socket | undefined): PeerCertificate | undefined {
  if (!socket || !isTls(socket)) return undefined;
  let peer = byConnection.get(socket);
  if (peer === undefined) {
    peer = readPeer(socket);
    byConnection.set(socket, peer);
  }
  return peer ?? undefined;
}

function isTls(socket: Socket): socket is TLSSocket {
  return (socket as TLSSocket).encrypted === true && typeof (socket as TLSSocket).getPeerCertificate === 'function';
}

function readPeer(socket: TLSSocket): PeerCertificate | null {
  const raw = socket.getPeerCertificate(false)?.raw;
  if (!raw || raw.length === 0) return null;
  const x509 = new X509Certificate(raw);
  const sans = parseSubjectAltName(x509.subjectAltName ?? '');
  return Object.freeze({
    authorized: socket.authorized,
    authorizationError: socket.authorizationError === undefined || socket.authorizationError === null ? undefined : String(socket.authorizationError),
    thumbprint: certificateThumbprint(raw),
    subject: x509.subject.split('\n').join(','),
    uriSans: Object.freeze(sans.filter(([kind]) => kind === 'URI').map(([, value]) => value)),
    dnsSans: Object.freeze(sans.filter(([kind]) => kind === 'DNS').map(([, value]) => value)),
    validFromMs: Date.parse(x509.validFrom),
    validToMs: Date.parse(x509.validTo),
  });
}

/** RFC 8705 §3.1: the base64url-encoded SHA-256 hash of the DER encoding of the certificate. */
export function certificateThumbprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * Node's subjectAltName text: `DNS:a.example, URI:spiffe://shop/orders`. Since Node 17 a value holding a
 * comma, quote or other special character is written as a JSON string (CVE-2021-44532), so a crafted SAN
 * can never be read as two entries.
 */
export function parseSubjectAltName(text: string): Array<[kind: string, value: string]> {
  const entries: Array<[string, string]> = [];
  const pattern = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  for (let match = pattern.exec(text); match && match[0] !== ''; match = pattern.exec(text)) {
    const raw = match[2] as string;
    let value: string;
    try {
      value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    } catch {
      continue; // not a SAN we can read: it matches nothing
    }
    entries.push([match[1] as string, value]);
  }
  return entries;
}
