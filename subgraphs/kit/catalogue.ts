/**
 * The closed catalogue of error codes a client of the gateway, or a caller of a subgraph built with the
 * kit, can see: one code, one HTTP status, one client-safe message. Both ends import it (the gateway
 * through `@frontdesk/kit/catalogue`), so the same situation gets the same answer wherever it is refused.
 * docs/errors.md is the reference; test/unit/errors/catalogue.test.ts keeps it in step with this table.
 *
 * Details (jose's error code, the failed claim, a subgraph's own message) go to the log, never here.
 */
export const ERROR_CATALOGUE = {
  /** Credential invalid, or missing while anonymous access is off; also a denied field with no principal. */
  UNAUTHENTICATED: { status: 401, message: 'Authentication failed' },
  /** A denied field: the principal lacks scopes or a policy. Partial data, so HTTP 200. */
  FORBIDDEN: { status: 200, message: 'Forbidden' },
  /** The identity provider (or, at a subgraph, the gateway's key set) cannot be reached. */
  AUTH_UNAVAILABLE: { status: 503, message: 'Authentication is temporarily unavailable' },
  /** Too many requests for this caller's budget. */
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  /** The gateway is at its bound of operations in flight and its queue is full or waited too long; `Retry-After`. */
  OVERLOADED: { status: 503, message: 'The gateway is overloaded; retry later' },
  /** The client did not send its request headers or body within the configured time. */
  REQUEST_TIMEOUT: { status: 408, message: 'Request not received in time' },
  /** A malformed HTTP request: bad request target, body not JSON, a batch where none is accepted. */
  BAD_REQUEST: { status: 400, message: 'Bad request' },
  /** No such route. */
  NOT_FOUND: { status: 404, message: 'Not found' },
  /** A route exists but not for this method; the answer carries `Allow`. */
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  /** The request body exceeds the configured limit. */
  PAYLOAD_TOO_LARGE: { status: 413, message: 'Request body too large' },
  /** The body is not `application/json`; also what makes a cross-site form post impossible. */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Content-Type must be application/json' },
  /** The request's headers exceed Node's limit (16 KiB). */
  REQUEST_HEADER_FIELDS_TOO_LARGE: { status: 431, message: 'Request headers too large' },
  /** A subgraph could not be reached or answered an error status; the rest of the operation still runs. */
  SUBGRAPH_UNAVAILABLE: { status: 200, message: 'A service this operation needs is unavailable' },
  /** Anything unexpected; the log has the detail under the same request id. */
  INTERNAL_SERVER_ERROR: { status: 500, message: 'Unexpected error' },
  // Apollo Server's request errors, passed through with their own messages: each is answered before any
  // subgraph is called.
  /** The document does not parse (or exceeds the parser's token limit). */
  GRAPHQL_PARSE_FAILED: { status: 400, message: 'Syntax error' },
  /** The document does not validate against the schema or a request limit (depth, aliases, cost…). */
  GRAPHQL_VALIDATION_FAILED: { status: 400, message: 'Invalid operation' },
  /** Variables do not match their declared types. */
  BAD_USER_INPUT: { status: 400, message: 'Invalid input' },
  /** The operationName names no operation of the document, or a document of several has none. */
  OPERATION_RESOLUTION_FAILURE: { status: 400, message: 'Unknown operation' },
  /** Automatic persisted queries are off. */
  PERSISTED_QUERY_NOT_SUPPORTED: { status: 400, message: 'Persisted queries are not supported' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Codes whose message Apollo Server writes (the document's own syntax or validation error). */
export const APOLLO_REQUEST_ERRORS: readonly ErrorCode[] = [
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_SUPPORTED',
];

export function isCatalogueCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOGUE, code);
}

/** The JSON body of an error answered outside GraphQL execution: `{ errors: [{ message, extensions: { code } }] }`. */
export function errorBody(code: ErrorCode, message: string = ERROR_CATALOGUE[code].message): { errors: [{ message: string; extensions: { code: ErrorCode } }] } {
  return { errors: [{ message, extensions: { code } }] };
}
