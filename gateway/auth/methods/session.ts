/**
 * The session method: a cookie session of the backend-for-frontend (docs/browser.md). The HTTP front finds
 * the cookie and fills `AuthRequest.session`; the chain treats it as one credential among the others —
 * beside a bearer token, an API key or a client certificate that binds nothing it is ambiguous, refused
 * before the session is looked up. The cookie's own rules (app Origin, CSRF header, one cookie) are checked
 * at extraction. The session's access token is verified by the JWT method (the same checks and cache as a
 * bearer JWT); the principal is the token's, reached through the session: `amr` `session`, id
 * `session:<ns>:<sub>`.
 */
import { AuthError } from '../../errors.ts';
import type { AuthenticationMethod, SessionCredential, Verified } from '../method.ts';
import { sessionPrincipal } from '../principal.ts';

export function sessionMethod(jwt: AuthenticationMethod<string>): AuthenticationMethod<SessionCredential> {
  return {
    name: 'session',
    extract({ session }) {
      if (!session) return undefined;
      try {
        session.check();
      } catch (error) {
        // Named here: the chain attributes refusals of verify only.
        if (error instanceof AuthError) error.method ??= 'session';
        throw error;
      }
      return { carrier: 'session-cookie', credential: session };
    },
    async verify(session, request): Promise<Verified> {
      const verified = await jwt.verify(await session.accessToken(), request);
      return { ...verified, principal: sessionPrincipal(verified.principal) };
    },
  };
}
