/**
 * The gateway's errors. What a client can see comes only from the shared catalogue
 * (`@frontdesk/kit/catalogue`, listed in docs/errors.md); what an operator sees at startup is a
 * StartupError with a stable code. Details (jose's code, the failed claim) go to the log only.
 */
import { GraphQLError } from 'graphql';
import { ERROR_CATALOGUE, type ErrorCode } from '@frontdesk/kit/catalogue';
import { AUTH_RETRY_AFTER_SECONDS } from '@frontdesk/kit/contract';

export { ERROR_CATALOGUE, errorBody, isCatalogueCode, type ErrorCode } from '@frontdesk/kit/catalogue';

/** Stable codes of what can stop the gateway from starting; the message says what to change. */
export type StartupErrorCode = 'CONFIG_INVALID' | 'IDENTITY_KEYS_UNUSABLE' | 'SUPERGRAPH_MISMATCH' | 'LISTEN_FAILED';

/** Anything that stops the gateway at boot (public API): `gateway` exits 2 with its message. */
export class StartupError extends Error {
  readonly code: StartupErrorCode;
  constructor(code: StartupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
    this.code = code;
  }
}

/** RFC 6750 §3.1 error values of a Bearer challenge. */
export type BearerError = 'invalid_request' | 'invalid_token';

/**
 * What a client should do next, in `extensions.reason` of an UNAUTHENTICATED error (docs/errors.md
 * "Telling expired from invalid"): `token_expired` — refresh the access token and retry;
 * `session_ended` — the cookie session is gone, sign in again. Absent: the credential is invalid.
 */
export type ClientReason = 'token_expired' | 'session_ended';

/**
 * Authentication refused or could not complete. `description` may be shown to the client (in
 * error_description); `reason` is server-only.
 */
export class AuthError extends Error {
  readonly code: 'UNAUTHENTICATED' | 'AUTH_UNAVAILABLE';
  /** undefined: credentials were missing (challenge without error). */
  readonly bearerError: BearerError | undefined;
  readonly description: string;
  readonly reason: string;
  /** Client-visible hint (`extensions.reason`); the only detail of a refusal a client may see besides `description`. */
  readonly clientReason: ClientReason | undefined;
  /** The authentication method whose credential was refused, when one was chosen (for the audit log). */
  method: string | undefined;
  constructor(
    code: 'UNAUTHENTICATED' | 'AUTH_UNAVAILABLE',
    init: { bearerError?: BearerError; description: string; reason: string; clientReason?: ClientReason; cause?: unknown },
  ) {
    super(init.reason, { cause: init.cause });
    this.name = 'AuthError';
    this.code = code;
    this.bearerError = init.bearerError;
    this.description = init.description;
    this.reason = init.reason;
    this.clientReason = init.clientReason;
  }

  static invalidToken(reason: string, description = 'The access token is invalid', cause?: unknown): AuthError {
    return new AuthError('UNAUTHENTICATED', { bearerError: 'invalid_token', description, reason, cause });
  }
  /** The credential was valid but its `exp` has passed: the client should refresh and retry. */
  static expired(reason: string, cause?: unknown): AuthError {
    return new AuthError('UNAUTHENTICATED', { bearerError: 'invalid_token', description: 'The access token expired', reason, clientReason: 'token_expired', cause });
  }
  /** The session cookie names no live session (unknown, forged, signed out, or its refresh failed). */
  static sessionEnded(reason: string): AuthError {
    return new AuthError('UNAUTHENTICATED', { bearerError: 'invalid_token', description: 'The session has ended; sign in again', reason, clientReason: 'session_ended' });
  }
  static invalidRequest(reason: string, description: string): AuthError {
    return new AuthError('UNAUTHENTICATED', { bearerError: 'invalid_request', description, reason });
  }
  static missing(): AuthError {
    return new AuthError('UNAUTHENTICATED', { description: 'Authentication required', reason: 'no credentials and anonymous access is off' });
  }
  static unavailable(reason: string, cause?: unknown): AuthError {
    return new AuthError('AUTH_UNAVAILABLE', { description: ERROR_CATALOGUE.AUTH_UNAVAILABLE.message, reason, cause });
  }
}

export { AUTH_RETRY_AFTER_SECONDS };

/** The HTTP head (status, headers) and GraphQL error an AuthError becomes. */
export function authErrorResponse(error: AuthError, realm: string): { status: number; headers: Record<string, string>; error: GraphQLError } {
  if (error.code === 'AUTH_UNAVAILABLE') {
    return {
      status: 503,
      headers: { 'retry-after': String(AUTH_RETRY_AFTER_SECONDS) },
      error: new GraphQLError(ERROR_CATALOGUE.AUTH_UNAVAILABLE.message, { extensions: { code: 'AUTH_UNAVAILABLE' } }),
    };
  }
  // RFC 6750 §3: a challenge without `error` when no credentials were sent.
  const challenge = error.bearerError
    ? `Bearer realm="${realm}", error="${error.bearerError}", error_description="${error.description}"`
    : `Bearer realm="${realm}"`;
  return {
    status: 401,
    headers: { 'www-authenticate': challenge },
    error: new GraphQLError(error.description, { extensions: { code: 'UNAUTHENTICATED', ...(error.clientReason ? { reason: error.clientReason } : {}) } }),
  };
}

/** A GraphQLError with the catalogue's message and HTTP status, for Apollo (`extensions.http`). */
export function catalogueError(code: ErrorCode, extra: Record<string, unknown> = {}): GraphQLError {
  const entry = ERROR_CATALOGUE[code];
  return new GraphQLError(entry.message, { extensions: { code, ...extra, http: { status: entry.status } } });
}
