/**
 * The OpenID provider as the gateway's sessions see it, through openid-client (panva): discovery once
 * into a `Configuration`, then authorization code + PKCE (S256) + state + nonce, refresh, and
 * RP-initiated logout. openid-client checks the discovery document's issuer, the callback's `iss`
 * (RFC 9207) and `state`, and the ID token (signature, `iss`, `aud` = our client id, `nonce`, `exp`).
 */
import * as oidc from 'openid-client';
import type { SessionsConfig } from '../config/types.ts';

/** The provider could not be reached or answered 5xx: retry later (503), never "signed out". */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
}

/** The provider (or a check on its answer) refused: a bad callback, or a refresh token no longer valid. */
export class ProviderRefusedError extends Error {
  override readonly name = 'ProviderRefusedError';
}

/** What a code exchange or a refresh yields. */
export interface ProviderTokens {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** Seconds, as the provider said (`expires_in`); undefined when it did not. */
  expiresIn: number | undefined;
  /** From the ID token (code exchange only). */
  subject: string | undefined;
  name: string | undefined;
  /** The provider's session (`sid`, OpenID Connect Back-Channel Logout 1.0 §2.4), when the ID token names one. */
  sid?: string | undefined;
}

export interface LoginChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface SessionProvider {
  authorizationUrl(checks: LoginChecks): Promise<URL>;
  /** `callback` is the configured redirect URI with the query the browser brought back. */
  exchangeCode(callback: URL, checks: LoginChecks): Promise<ProviderTokens>;
  refresh(refreshToken: string): Promise<ProviderTokens>;
  /** The provider's end_session URL for this ID token, or undefined when it has none. */
  endSessionUrl(idToken: string | undefined): Promise<URL | undefined>;
}

export function createSessionProvider(config: SessionsConfig): SessionProvider {
  let discovered: Promise<oidc.Configuration> | undefined;
  // Discovered once, on first use; a failed discovery is retried by the next request.
  const configuration = (): Promise<oidc.Configuration> => {
    discovered ??= oidc
      .discovery(new URL(config.issuer), config.clientId, { redirect_uris: [config.redirectUri] }, oidc.ClientSecretBasic(config.clientSecret), {
        timeout: config.timeoutMs / 1000,
        // checkSessions allows plain http on loopback only (development, tests).
        execute: new URL(config.issuer).protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
      })
      .catch((error: unknown) => {
        discovered = undefined;
        throw classify(error);
      });
    return discovered;
  };
  const resource: Record<string, string> = config.resource === undefined ? {} : { resource: config.resource };

  return {
    async authorizationUrl({ state, nonce, codeVerifier }) {
      return oidc.buildAuthorizationUrl(await configuration(), {
        redirect_uri: config.redirectUri,
        response_type: 'code',
        scope: config.scopes.join(' '),
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        ...resource,
      });
    },
    async exchangeCode(callback, { state, nonce, codeVerifier }) {
      try {
        const tokens = await oidc.authorizationCodeGrant(
          await configuration(),
          callback,
          { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
          resource,
        );
        const claims = tokens.claims();
        const name = claims?.preferred_username ?? claims?.name;
        const sid = typeof claims?.sid === 'string' && claims.sid.length > 0 && claims.sid.length <= 512 ? claims.sid : undefined;
        return { ...tokensOf(tokens), subject: claims?.sub, name: typeof name === 'string' ? name.slice(0, 256) : undefined, sid };
      } catch (error) {
        throw classify(error);
      }
    },
    async refresh(refreshToken) {
      try {
        return { ...tokensOf(await oidc.refreshTokenGrant(await configuration(), refreshToken, resource)), subject: undefined, name: undefined };
      } catch (error) {
        throw classify(error);
      }
    },
    async endSessionUrl(idToken) {
      const current = await configuration();
      if (!current.serverMetadata().end_session_endpoint) return undefined;
      return oidc.buildEndSessionUrl(current, {
        client_id: config.clientId,
        ...(idToken ? { id_token_hint: idToken } : {}),
        ...(config.postLogoutRedirectUri ? { post_logout_redirect_uri: config.postLogoutRedirectUri } : {}),
      });
    },
  };
}

function tokensOf(tokens: oidc.TokenEndpointResponse): Omit<ProviderTokens, 'subject' | 'name'> {
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    idToken: tokens.id_token,
    expiresIn: typeof tokens.expires_in === 'number' && tokens.expires_in > 0 ? tokens.expires_in : undefined,
  };
}

const UNREACHABLE_CODES = new Set(['OAUTH_TIMEOUT', 'OAUTH_ABORT', 'OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON']);

/** Network failures, timeouts and 5xx are the provider being unavailable; everything else is a refusal. */
function classify(error: unknown): Error {
  if (error instanceof ProviderUnavailableError || error instanceof ProviderRefusedError) return error;
  const unreachable =
    error instanceof TypeError || // fetch failed: connection refused or reset
    (error instanceof oidc.ResponseBodyError && error.status >= 500) ||
    (error instanceof oidc.ClientError && error.code !== undefined && UNREACHABLE_CODES.has(error.code));
  const detail = error instanceof oidc.ResponseBodyError ? `${error.error}: ${error.status}` : error instanceof Error ? `${error.name} ${(error as { code?: string }).code ?? ''} ${error.message}` : String(error);
  return unreachable ? new ProviderUnavailableError(detail, { cause: error }) : new ProviderRefusedError(detail, { cause: error });
}
