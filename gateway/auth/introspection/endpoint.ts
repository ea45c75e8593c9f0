/**
 * The introspection request (RFC 7662 §2.1): a form POST of the token, the gateway authenticated as a
 * client with `client_secret_basic` (RFC 6749 §2.3.1) or `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9).
 * The endpoint is configured or found once through discovery (`introspection_endpoint`, RFC 8414).
 *
 * Plain fetch and our bounded reader rather than openid-client: the exchange is one form POST, and
 * openid-client reads answers whole (`response.json()`), so we would wrap its fetch anyway to bound them;
 * checking the answer is ours either way (./answer.ts), since RFC 7662 leaves `aud`, `exp`, `token_type`
 * to the resource server.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT, type JWK } from 'jose';
import { readBoundedText } from '@frontdesk/kit/bounded-read';
import type { IntrospectionConfig } from '../../config/types.ts';
import { AuthError } from '../../errors.ts';
import { endpointOf, fetchProviderMetadata } from '../discovery.ts';

/** Largest introspection answer read, in bytes (64 KiB); counted while it streams. A larger one is not active. */
export const MAX_ANSWER_BYTES = 65_536;
/** After a failed discovery, how long requests fail fast (503) before it is tried again, in ms. */
const DISCOVERY_RETRY_MS = 5_000;

/** What the endpoint said: a 200 body to check, or nothing usable (a refusal, not an outage). */
export type EndpointAnswer = { kind: 'body'; text: string } | { kind: 'unusable'; reason: string };

export interface IntrospectionEndpoint {
  introspect(token: string): Promise<EndpointAnswer>;
}

export function createIntrospectionEndpoint(config: IntrospectionConfig, options: { now: () => number }): IntrospectionEndpoint {
  let endpoint: Promise<URL> | undefined = config.endpoint ? Promise.resolve(new URL(config.endpoint)) : undefined;
  const discoveryUrl = `${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let failedAt = Number.NEGATIVE_INFINITY;
  const discover = (): Promise<URL> => {
    if (endpoint) return endpoint;
    // After a failed discovery, requests fail fast for a while instead of each asking a provider that is down.
    if (options.now() - failedAt < DISCOVERY_RETRY_MS) return Promise.reject(new Error('discovery failed recently'));
    const attempt = fetchProviderMetadata(config.issuer, discoveryUrl, config.timeoutMs).then((metadata) => {
      if (typeof metadata.introspection_endpoint !== 'string') throw new Error('discovery document has no introspection_endpoint');
      return endpointOf(metadata.introspection_endpoint, config.issuer, 'introspection_endpoint');
    });
    endpoint = attempt; // one discovery in flight, shared
    attempt.catch(() => {
      failedAt = options.now();
      if (endpoint === attempt) endpoint = undefined;
    });
    return attempt;
  };
  const authenticate = clientAuthentication(config, options.now);

  return {
    async introspect(token) {
      let response: Response;
      let text: string;
      try {
        const url = await discover();
        const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
        await authenticate(url, form, headers);
        response = await fetch(url, { method: 'POST', headers, body: form, redirect: 'manual', signal: AbortSignal.timeout(config.timeoutMs) });
        // Anything but 200 is the server failing us (or refusing the gateway's own credentials): an outage, never the caller's fault.
        if (response.status !== 200) {
          await response.body?.cancel().catch(() => {});
          throw new Error(`introspection endpoint answered HTTP ${response.status}`);
        }
      } catch (error) {
        throw AuthError.unavailable(`introspection at ${config.issuer} failed: ${(error as Error).message}`, error);
      }
      try {
        text = await readBoundedText(response.body, { maxBytes: MAX_ANSWER_BYTES, declaredLength: response.headers.get('content-length'), what: 'introspection answer' });
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_BODY_TOO_LARGE') return { kind: 'unusable', reason: (error as Error).message };
        throw AuthError.unavailable(`introspection answer from ${config.issuer} cut off: ${(error as Error).message}`, error);
      }
      return { kind: 'body', text };
    },
  };
}

type Authenticate = (endpoint: URL, form: URLSearchParams, headers: Record<string, string>) => Promise<void>;

function clientAuthentication(config: IntrospectionConfig, now: () => number): Authenticate {
  if (config.clientAuth === 'client_secret_basic') {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
    const basic = Buffer.from(`${formEncode(config.clientId)}:${formEncode(config.clientSecret ?? '')}`).toString('base64');
    return async (_endpoint, _form, headers) => void (headers.authorization = `Basic ${basic}`);
  }
  const jwk = JSON.parse(readFileSync(config.clientKey as string, 'utf8')) as JWK;
  const alg = jwk.alg ?? (jwk.kty === 'OKP' ? 'EdDSA' : jwk.kty === 'EC' ? 'ES256' : 'RS256');
  const key = importJWK(jwk, alg);
  return async (_endpoint, form) => {
    const seconds = Math.floor(now() / 1000);
    // RFC 7523 §3: iss = sub = client_id; aud the authorization server's issuer identifier (RFC 7523bis).
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg, ...(jwk.kid ? { kid: jwk.kid } : {}) })
      .setIssuer(config.clientId)
      .setSubject(config.clientId)
      .setAudience(config.issuer)
      .setIssuedAt(seconds)
      .setExpirationTime(seconds + 60)
      .sign(await key);
    form.set('client_id', config.clientId);
    form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    form.set('client_assertion', assertion);
  };
}

const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
