/**
 * The errors a subgraph built with the kit can answer with. The codes are those of the shared catalogue
 * (catalogue.ts, docs/errors.md), so a caller sees the same vocabulary wherever a refusal comes from.
 */
import { GraphQLError } from 'graphql';
import { ERROR_CATALOGUE } from './catalogue.ts';
import { AUTH_RETRY_AFTER_SECONDS, type RefusalReason } from './contract.ts';

export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  AUTH_UNAVAILABLE: 'AUTH_UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * An identity token was missing or did not verify. `reason` is server-only detail for the log (jose's
 * code, the failed claim); the client only ever sees "Request did not come through the gateway".
 */
export class IdentityError extends Error {
  readonly code: 'UNAUTHENTICATED' | 'AUTH_UNAVAILABLE';
  readonly reason: string;
  /** AUTH_UNAVAILABLE only: the Retry-After the client gets, in seconds. Default is AUTH_RETRY_AFTER_SECONDS. */
  readonly retryAfterSeconds: number | undefined;
  /** The rule of docs/identity-token.md that refused the token, when one did (the conformance vectors' reason). */
  readonly rule: RefusalReason | undefined;
  constructor(code: 'UNAUTHENTICATED' | 'AUTH_UNAVAILABLE', reason: string, options?: { cause?: unknown; retryAfterSeconds?: number; rule?: RefusalReason }) {
    super(reason, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IdentityError';
    this.code = code;
    this.reason = reason;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.rule = options?.rule;
  }
}

/** The client-facing form of an IdentityError: a GraphQLError with its HTTP status (Apollo `extensions.http`). */
export function identityErrorToGraphQL(error: IdentityError): GraphQLError {
  if (error.code === 'AUTH_UNAVAILABLE') {
    return new GraphQLError('Identity verification is temporarily unavailable', {
      extensions: { code: ErrorCode.AUTH_UNAVAILABLE, http: { status: ERROR_CATALOGUE.AUTH_UNAVAILABLE.status, headers: new Map([['retry-after', String(error.retryAfterSeconds ?? AUTH_RETRY_AFTER_SECONDS)]]) } },
    });
  }
  return new GraphQLError('Request did not come through the gateway', {
    extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: ERROR_CATALOGUE.UNAUTHENTICATED.status } },
  });
}
