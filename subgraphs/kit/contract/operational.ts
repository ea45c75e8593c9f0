/**
 * What the gateway and the kit answer and log alike, so a client and a log pipeline see one vocabulary
 * wherever an answer comes from.
 */

/**
 * Seconds a caller should wait before retrying after `AUTH_UNAVAILABLE` (HTTP 503, `Retry-After`,
 * RFC 9110 §10.2.3): the gateway when an identity provider is unreachable, the kit when the gateway's key
 * set is.
 */
export const AUTH_RETRY_AFTER_SECONDS = 5;

/** Log levels, lowest first; `silent` writes nothing. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
