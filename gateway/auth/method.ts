/**
 * The one interface an authentication method implements (docs/architecture.md "Authentication methods").
 * A method finds its own credential in the request — a header, the bearer token, the TLS client
 * certificate, the cookie session — without I/O, then verifies it into a Principal. The chain
 * (./authenticate.ts) asks every configured method, refuses a request that presents more than one
 * credential (RFC 6750 §2; the one exception is a client certificate binding a token, RFC 8705), and
 * verifies the one that is left.
 */
import type { Socket } from 'node:net';
import type { AuthMethod } from '@frontdesk/kit/contract';
import type { PeerCertificate } from './peer-certificate.ts';
import type { Principal } from './principal.ts';

/** What the HTTP front hands to authentication: the head of the request, nothing of its body. */
export interface AuthRequest {
  /** Node's `req.rawHeaders`: duplicates are only visible here. */
  rawHeaders: readonly string[];
  /** The URL's query string (`?a=b`), where no credential may ever be. */
  search: string;
  /** The connection; over HTTPS a TLSSocket, whose client certificate is a credential. */
  socket?: Socket;
  /** The request's id, for the audit line of this decision (gateway/observability/auth.ts). */
  requestId?: string;
  /** The request's trace id, for the same line. */
  traceId?: string;
  /** The cookie session the request names, filled by the HTTP front after the cookie rules (./methods/session.ts). */
  session?: SessionCredential;
}

/**
 * A cookie session, not yet looked up: its access token is fetched (and refreshed when due) only once the
 * chain knows it is the request's one credential.
 */
export interface SessionCredential {
  /** The cookie's own rules (app `Origin`, CSRF header, one cookie); no I/O. Throws AuthError (invalid_request). */
  check(): void;
  /** The session's live access token. Throws AuthError (`session_ended`, or 503 when the provider cannot refresh it). */
  accessToken(): Promise<string>;
}

/** The request as methods see it: the Authorization header already checked once (./credential.ts). */
export interface PresentedRequest extends AuthRequest {
  /** The Bearer token of the one Authorization header, or undefined. */
  readonly bearer: string | undefined;
  /** The client certificate of a TLS connection (valid or not), or undefined. */
  readonly peer: PeerCertificate | undefined;
}

/**
 * Where a credential travels. Two credentials from different carriers are ambiguous; when two methods
 * claim the same carrier (a bearer token is a JWT or an opaque token), the first method in the chain
 * takes it — so a method's `extract` decides by the credential's shape.
 */
export type Carrier = 'authorization' | 'api-key-header' | 'certificate' | 'session-cookie';

export interface Presented<C> {
  readonly carrier: Carrier;
  readonly credential: C;
}

/** A verified credential: who, until when, and the certificate it is bound to (RFC 8705 `cnf.x5t#S256`). */
export interface Verified {
  readonly principal: Principal;
  /** When the verification stops holding (the credential's exp), in ms since the epoch; Infinity: never. */
  readonly expiresAtMs: number;
  /** base64url SHA-256 of the DER certificate the credential is bound to, if any. */
  readonly boundCertificate?: string;
  /** The credential's `jti` and `iat` (ms), when it has them: what revocations compare (docs/fleet.md). */
  readonly tokenId?: string;
  readonly issuedAtMs?: number;
}

export interface AuthenticationMethod<C = unknown> {
  /** The `amr` value of the principals it yields. */
  readonly name: AuthMethod;
  /** This method's credential in the request, or undefined; no I/O. Throws AuthError when it is malformed. */
  extract(request: PresentedRequest): Presented<C> | undefined;
  /** The credential as a Principal; throws AuthError (401, or 503 when whoever vouches cannot be asked). */
  verify(credential: C, request: PresentedRequest): Promise<Verified>;
}
