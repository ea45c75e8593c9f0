/**
 * Client certificates as credentials (README "HTTPS and client certificates"): a certificate that chains
 * to `listen.tls.clientCa`, inside its validity dates, whose URI SAN, DNS SAN or subject matches an entry
 * of `auth.mtls.identities` (first match wins) is that entry's principal. Anything else — another CA,
 * expired, matching nothing — is a 401 the client can read, never a TLS alert.
 */
import { principalId } from '@frontdesk/kit/contract';
import type { CertificateIdentityConfig, MtlsConfig } from '../../config/types.ts';
import { AuthError } from '../../errors.ts';
import type { AuthenticationMethod, Verified } from '../method.ts';
import type { PeerCertificate } from '../peer-certificate.ts';

const REFUSED = 'The client certificate is not accepted';

export function mtlsMethod(config: MtlsConfig, options: { now: () => number }): AuthenticationMethod<PeerCertificate> {
  return {
    name: 'mtls',
    extract: ({ peer }) => (peer ? { carrier: 'certificate', credential: peer } : undefined),
    async verify(peer): Promise<Verified> {
      if (!peer.authorized) throw AuthError.invalidToken(`client certificate not trusted: ${peer.authorizationError}`, REFUSED);
      const now = options.now();
      if (now < peer.validFromMs || now >= peer.validToMs) throw AuthError.invalidToken('client certificate outside its validity dates', REFUSED);
      const identity = config.identities.find((entry) => matches(entry, peer));
      if (!identity) throw AuthError.invalidToken(`client certificate ${peer.subject.slice(0, 200)} matches no auth.mtls identity`, REFUSED);
      const principal = Object.freeze({
        id: principalId('mtls', config.principalNamespace ?? 'local', identity.subject),
        subject: identity.subject,
        issuer: undefined,
        method: 'mtls' as const,
        scopes: Object.freeze([...identity.scopes]),
        roles: Object.freeze([...identity.roles]),
        tenant: identity.tenant,
        clientId: undefined,
        expiresAt: new Date(peer.validToMs),
      });
      return { principal, expiresAtMs: peer.validToMs };
    },
  };
}

function matches({ match }: CertificateIdentityConfig, peer: PeerCertificate): boolean {
  switch (match.kind) {
    case 'uriSan':
      return peer.uriSans.includes(match.value);
    case 'dnsSan':
      return peer.dnsSans.includes(match.value);
    case 'subject':
      return peer.subject === match.value;
  }
}
