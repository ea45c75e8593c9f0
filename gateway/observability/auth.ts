/**
 * Authentication as a first-class signal: every decision of the authenticator becomes an audit line,
 * a metric (method, configured issuer, result) and, with tracing, an `authenticate` span. The
 * authenticator is wrapped, not changed.
 *
 * The audit stream is the child logger `audit: true` (route it to a SIEM by that field). Accepted:
 * method, issuer, kid, principal (hashed), cached or not; refused: result, code, reason (jose's code, the
 * failed claim), the claimed issuer and kid read from the token unverified, at most 200 characters each.
 * Anonymous requests are logged at debug. No token, claim value or subject is ever written.
 */
import { SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { Authenticator, AuthRequest } from '../auth/authenticate.ts';
import { extractCredential } from '../auth/credential.ts';
import type { Principal } from '../auth/principal.ts';
import { AuthError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AuthResult, GatewayMetrics } from './metrics.ts';
import { principalHash } from './requests.ts';

export interface AuthObserverOptions {
  log: Logger;
  metrics?: GatewayMetrics;
  tracer?: Tracer;
  /** auth.maxTokenBytes: the same bound the authenticator applies before reading a token. */
  maxTokenBytes: number;
}

const MAX_FIELD = 200;

export function observeAuthenticator(inner: Authenticator, options: AuthObserverOptions): Authenticator {
  const { metrics, tracer } = options;
  const audit = options.log.child({ audit: true });

  const decide = async (request: AuthRequest): Promise<{ principal: Principal } | { error: unknown }> => {
    const hitsBefore = inner.stats.cacheHits;
    try {
      const principal = await inner.authenticate(request);
      const anonymous = principal.method === 'anonymous';
      const result: AuthResult = anonymous ? 'anonymous' : 'accepted';
      // The line is built only when it is written: reading the token's kid again is two base64url decodes
      // and two JSON parses, on every request of a gateway that logs at warn.
      if (audit.isEnabled(anonymous ? 'debug' : 'info')) {
        const token = tokenFacts(request, options.maxTokenBytes);
        const fields = {
          ...context(request),
          result,
          method: principal.method,
          ...(principal.issuer !== undefined ? { issuer: principal.issuer } : {}),
          ...(token?.kid !== undefined ? { kid: token.kid } : {}),
          ...(principal.subject !== undefined ? { principal: principalHash(principal) } : {}),
          ...(anonymous ? {} : { cached: inner.stats.cacheHits > hitsBefore }),
        };
        if (anonymous) audit.debug('authentication anonymous', fields);
        else audit.info('authentication accepted', fields);
      }
      metrics?.authDecision(principal.method, principal.issuer, result);
      return { principal };
    } catch (error) {
      const authError = error instanceof AuthError ? error : AuthError.unavailable('unexpected authentication failure', error);
      const result = resultOf(authError);
      const token = tokenFacts(request, options.maxTokenBytes);
      const method = authError.method ?? (token === undefined ? 'none' : token.malformed ? 'malformed' : 'jwt');
      audit[result === 'unavailable' ? 'warn' : 'info']('authentication refused', {
        ...context(request),
        result,
        method,
        code: authError.code,
        reason: authError.reason,
        ...(authError.cause !== undefined ? { cause: authError.cause } : {}),
        ...(token?.issuer !== undefined ? { claimedIssuer: token.issuer } : {}),
        ...(token?.kid !== undefined ? { kid: token.kid } : {}),
      });
      metrics?.authDecision(method, token?.issuer, result);
      return { error };
    }
  };

  return {
    jwt: inner.jwt,
    stats: inner.stats,
    introspection: inner.introspection,
    apiKeys: inner.apiKeys,
    close: () => inner.close(),
    enforceRevocations: (list) => inner.enforceRevocations(list),
    async authenticate(request) {
      // No active span: tracing is off or the request is not sampled (./tracing.ts), so no span either.
      if (!tracer || !trace.getActiveSpan()) {
        const outcome = await decide(request);
        if ('error' in outcome) throw outcome.error;
        return outcome.principal;
      }
      return tracer.startActiveSpan('authenticate', async (span) => {
        try {
          const outcome = await decide(request);
          if ('error' in outcome) {
            const error = outcome.error;
            span.setAttributes({ 'frontdesk.auth.result': error instanceof AuthError ? resultOf(error) : 'unavailable' });
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof AuthError ? error.code : 'unexpected' });
            throw error;
          }
          span.setAttributes({ 'frontdesk.auth.method': outcome.principal.method, 'frontdesk.auth.result': outcome.principal.method === 'anonymous' ? 'anonymous' : 'accepted' });
          if (outcome.principal.issuer !== undefined) span.setAttribute('frontdesk.auth.issuer', outcome.principal.issuer);
          return outcome.principal;
        } finally {
          span.end();
        }
      });
    },
  };
}

/** The classification metrics and the audit stream share. */
export function resultOf(error: AuthError): AuthResult {
  if (error.code === 'AUTH_UNAVAILABLE') return 'unavailable';
  if (error.bearerError === undefined && error.reason === AuthError.missing().reason) return 'missing';
  if (error.description === 'The access token expired') return 'expired';
  return 'invalid';
}

function context(request: AuthRequest): { requestId?: string; traceId?: string } {
  return { ...(request.requestId !== undefined ? { requestId: request.requestId } : {}), ...(request.traceId !== undefined ? { traceId: request.traceId } : {}) };
}

/** `kid` and `iss` of a bearer JWT, read without verifying (for the audit line only), bounded. */
function tokenFacts(request: AuthRequest, maxTokenBytes: number): { kid?: string; issuer?: string; malformed?: true } | undefined {
  let token: string;
  try {
    const credential = extractCredential(request.rawHeaders, request.search, maxTokenBytes);
    if (credential.kind !== 'bearer') return undefined;
    token = credential.token;
  } catch {
    return { malformed: true };
  }
  const [header, payload] = token.split('.', 2);
  return { kid: stringField(header, 'kid'), issuer: stringField(payload, 'iss') };
}

function stringField(part: string | undefined, name: string): string | undefined {
  if (!part) return undefined;
  try {
    const value = (JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>)[name];
    return typeof value === 'string' ? value.slice(0, MAX_FIELD) : undefined;
  } catch {
    return undefined;
  }
}
