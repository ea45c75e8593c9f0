/**
 * Authentication, once per request: the chain of configured methods (./method.ts) turns the request's one
 * credential into a Principal, or throws an AuthError that the HTTP front turns into 401/503. An invalid
 * credential is an error, never silently anonymous; two credentials are ambiguous and refused, except a
 * client certificate that a token is bound to (RFC 8705).
 */
import type { AuthConfig } from '../config/types.ts';
import { AuthError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RevocationList } from '../revocation/list.ts';
import type { SharedStore } from '../store/redis.ts';
import { extractCredential } from './credential.ts';
import { createJwtVerifier, type JwtVerifier } from './jwt.ts';
import type { AuthenticationMethod, AuthRequest, Presented, PresentedRequest, Verified } from './method.ts';
import { apiKeyMethod, type ApiKeyMethod } from './methods/api-key.ts';
import { introspectionMethod, type IntrospectionMethod } from './methods/introspection.ts';
import { jwtMethod } from './methods/jwt.ts';
import { mtlsMethod } from './methods/mtls.ts';
import { sessionMethod } from './methods/session.ts';
import { peerCertificateOf } from './peer-certificate.ts';
import { ANONYMOUS, type Principal } from './principal.ts';
import { refuseRevoked } from './revoked.ts';

export type { AuthRequest } from './method.ts';

export interface Authenticator {
  /** Resolves the caller's Principal; throws AuthError. */
  authenticate(request: AuthRequest): Promise<Principal>;
  readonly jwt: JwtVerifier;
  /** JWT counters, for tests and metrics: signature verifications performed and cache hits. */
  readonly stats: { verifications: number; cacheHits: number };
  /** The introspection method, when configured (its counters). */
  readonly introspection: IntrospectionMethod | undefined;
  /** The API key method, when configured. */
  readonly apiKeys: ApiKeyMethod | undefined;
  /** Stops what methods watch or poll (the API key file, its Redis subscription). */
  close(): void;
  /** From now on, refuses what this list revokes (server.ts hands it the fleet's list at boot). */
  enforceRevocations(list: RevocationList): void;
}

export interface AuthenticatorOptions {
  log: Logger;
  now?: () => number;
  /** Called after every key set or discovery fetch (metrics). */
  onKeySetFetch?: (issuer: string, ok: boolean) => void;
  /** `listen.tls.clientCert`: `required` refuses a request without a valid client certificate. */
  clientCertificate?: 'optional' | 'required';
  /** Refuses what was revoked, after verification and caches (docs/fleet.md "Revocation"). */
  revocations?: RevocationList;
  /** The fleet's Redis (`store.redis`), for the stores that live there (`auth.apiKeys.store: redis`). */
  shared?: SharedStore;
}

export function createAuthenticator(config: AuthConfig, options: AuthenticatorOptions): Authenticator {
  const now = options.now ?? Date.now;
  let revocations = options.revocations;
  const jwt = createJwtVerifier(config.jwt, options);
  const stats = { verifications: 0, cacheHits: 0 };
  const apiKeys = config.apiKeys
    ? apiKeyMethod(config.apiKeys, { log: options.log, now, maxEntries: config.cache.maxEntries, ...(options.shared ? { shared: options.shared } : {}) })
    : undefined;
  const introspection = config.introspection[0]
    ? introspectionMethod(config.introspection[0], { log: options.log, now, maxEntries: config.cache.maxEntries, jwtIssuers: new Set(config.jwt.map((entry) => entry.issuer)) })
    : undefined;
  const mtls = config.mtls.identities.length > 0 ? mtlsMethod(config.mtls, { now }) : undefined;
  // Order matters where methods share a carrier: a bearer token is claimed by shape — an API key
  // (`fd_…`), then an opaque token, and the JWT method takes whatever is left.
  // The cookie session (filled in only when `sessions:` is on) shares the JWT method: its access token
  // gets the checks, and the cache, of a bearer JWT.
  const bearerJwt = jwtMethod(jwt, config, { now, stats });
  const methods: AuthenticationMethod[] = [
    ...(apiKeys ? [apiKeys] : []),
    ...(introspection ? [introspection] : []),
    bearerJwt,
    ...(mtls ? [mtls] : []),
    sessionMethod(bearerJwt),
  ] as AuthenticationMethod[];

  return {
    jwt,
    stats,
    introspection,
    apiKeys,
    close: () => apiKeys?.close(),
    enforceRevocations(list) {
      revocations = list;
    },
    async authenticate(request) {
      const peer = peerCertificateOf(request.socket);
      const bearer = extractCredential(request.rawHeaders, request.search, config.maxTokenBytes);
      const presented: PresentedRequest = { ...request, bearer: bearer.kind === 'bearer' ? bearer.token : undefined, peer };

      const found = new Map<string, { method: AuthenticationMethod; presented: Presented<unknown> }>();
      for (const method of methods) {
        const credential = method.extract(presented);
        if (credential && !found.has(credential.carrier)) found.set(credential.carrier, { method, presented: credential });
      }
      if (options.clientCertificate === 'required' && !peer?.authorized) {
        throw AuthError.invalidRequest(peer ? `client certificate refused at the handshake: ${peer.authorizationError}` : 'no client certificate', 'A valid client certificate is required');
      }
      const certificate = found.get('certificate');
      found.delete('certificate');
      if (found.size > 1) throw AuthError.invalidRequest(`credentials in ${[...found.keys()].join(' and ')}`, 'Send exactly one credential');
      const [chosen] = found.values();
      if (!chosen) {
        if (certificate) {
          const verified = await attributed(certificate.method, certificate.method.verify(certificate.presented.credential, presented));
          refuseRevoked(revocations, verified, certificate.method.name, undefined);
          return verified.principal;
        }
        if (config.anonymous) return ANONYMOUS;
        throw AuthError.missing();
      }
      const verified = await attributed(chosen.method, chosen.method.verify(chosen.presented.credential, presented));
      refuseRevoked(revocations, verified, chosen.method.name, chosen.presented.credential);
      checkBinding(verified, presented);
      // A certificate that is a credential of its own beside an unbound token is a second credential.
      if (certificate && verified.boundCertificate === undefined) {
        throw AuthError.invalidRequest(`client certificate and ${chosen.presented.carrier} credential`, 'Send exactly one credential');
      }
      return verified.principal;
    },
  };
}

/** Names the method on a refusal it produced, for the audit log and metrics. */
async function attributed<T>(method: AuthenticationMethod, verification: Promise<T>): Promise<T> {
  try {
    return await verification;
  } catch (error) {
    if (error instanceof AuthError) error.method ??= method.name;
    throw error;
  }
}

/** RFC 8705 §3: a bound token is accepted only over a connection presenting that very certificate. */
function checkBinding(verified: Verified, { peer }: PresentedRequest): void {
  if (verified.boundCertificate === undefined) return;
  if (!peer) throw AuthError.invalidToken('certificate-bound token without a client certificate', 'The access token is bound to a client certificate');
  if (peer.thumbprint !== verified.boundCertificate) throw AuthError.invalidToken('certificate-bound token over a connection with another certificate', 'The access token is bound to a client certificate');
}
