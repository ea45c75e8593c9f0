/**
 * The errors a subgraph built with the kit can answer with. The codes are the ones of the gateway's
 * catalogue (DESIGN.md), so a client sees the same vocabulary wherever a refusal comes from.
 */
import { GraphQLError } from 'graphql';
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
  /** The rule of docs/identity-token.md that refused the token, when one did (the conformance vectors' reason). */
  readonly rule: RefusalReason | undefined;
  constructor(code: 'UNAUTHENTICATED' | 'AUTH_UNAVAILABLE', reason: string, options?: { cause?: unknown; rule?: RefusalReason }) {
    super(reason, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IdentityError';
    this.code = code;
    this.reason = reason;
    this.rule = options?.rule;
  }
}

/** The client-facing form of an IdentityError: a GraphQLError with its HTTP status (Apollo `extensions.http`). */
export function identityErrorToGraphQL(error: IdentityError): GraphQLError {
  if (error.code === 'AUTH_UNAVAILABLE') {
    return new GraphQLError('Identity verification is temporarily unavailable', {
      extensions: { code: ErrorCode.AUTH_UNAVAILABLE, http: { status: 503, headers: new Map([['retry-after', String(AUTH_RETRY_AFTER_SECONDS)]]) } },
    });
  }
  return new GraphQLError('Request did not come through the gateway', {
    extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
  });
}
