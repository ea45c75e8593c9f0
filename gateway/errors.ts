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
 * Authentication refused or could not complete. `description` may be shown to the client (in
 * error_description); `reason` is server-only.
 */
export class AuthError extends Error {
  readonly code: 'UNAUTHENTICATED' | 'AUTH_UNAVAILABLE';
  /** undefined: credentials were missing (challenge without error). */
  readonly bearerError: BearerError | undefined;
  readonly description: string;
  readonly reason: string;
  /** The authentication method whose credential was refused, when one was chosen (for the audit log). */
  method: string | undefined;
  constructor(
    code: 'UNAUTHENTICATED' | 'AUTH_UNAVAILABLE',
    init: { bearerError?: BearerError; description: string; reason: string; cause?: unknown },
  ) {
    super(init.reason, { cause: init.cause });
    this.name = 'AuthError';
    this.code = code;
    this.bearerError = init.bearerError;
    this.description = init.description;
    this.reason = init.reason;
  }

  static invalidToken(reason: string, description = 'The access token is invalid', cause?: unknown): AuthError {
    return new AuthError('UNAUTHENTICATED', { bearerError: 'invalid_token', description, reason, cause });
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
    error: new GraphQLError(error.description, { extensions: { code: 'UNAUTHENTICATED' } }),
  };
}

/** A GraphQLError with the catalogue's message and HTTP status, for Apollo (`extensions.http`). */
export function catalogueError(code: ErrorCode, extra: Record<string, unknown> = {}): GraphQLError {
  const entry = ERROR_CATALOGUE[code];
  return new GraphQLError(entry.message, { extensions: { code, ...extra, http: { status: entry.status } } });
}
