/**
 * The subgraph side of the identity token contract: verify the token the gateway minted for this
 * subgraph and this exact request, and turn it into the Identity resolvers see.
 */
import { readFileSync } from 'node:fs';
import { errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  AUTH_METHODS,
  IDENTITY_ALGORITHMS,
  IDENTITY_HEADER,
  IDENTITY_TOKEN_TYPE,
  MAX_IDENTITY_TOKEN_BYTES,
  MAX_IDENTITY_TTL_SECONDS,
  requestBinding,
  type AuthMethod,
  type BoundRequest,
} from './contract.ts';
import { IdentityError } from './errors.ts';
import { createRemoteKeySet, createStaticKeySet, KeySetUnavailableError, type KeySet } from './key-set.ts';

/** Who a request is made for, as the gateway vouched for it. */
export interface Identity {
  /** Undefined for anonymous callers. */
  readonly subject: string | undefined;
  /** The identity provider that authenticated the caller; undefined for anonymous and service callers. */
  readonly issuer: string | undefined;
  readonly method: AuthMethod;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly tenant: string | undefined;
  readonly clientId: string | undefined;
  /** When the identity token expires. */
  readonly expiresAt: Date;
  /** The identity token's `jti`. */
  readonly tokenId: string;
  /** True when the caller is a real principal (not anonymous). */
  readonly authenticated: boolean;
}

/** Remembers seen `jti`s until they expire, to refuse replays. Implement it on Redis for several replicas. */
export interface ReplayStore {
  /** Records `jti` until `expiresAt`; resolves false when it was already recorded. */
  remember(jti: string, expiresAt: Date): Promise<boolean> | boolean;
}

export interface IdentityVerifierOptions {
  /** This subgraph's name in the supergraph; identity tokens must have it as `aud`. */
  subgraph: string;
  /** The gateway's issuer identifier (`iss`), exact match. */
  issuer: string;
  /** The gateway's JWKS: an http(s) URL, a file path, or a key set object. */
  jwks: string | URL | JSONWebKeySet;
  /** Header carrying the token. Default is `frontdesk-identity`. */
  header?: string;
  /** Allowed clock skew, in seconds. Default is 5. */
  clockToleranceSeconds?: number;
  /** Refuse a `jti` seen before: true for a bounded in-memory store, or a store of your own. Default is off. */
  replay?: boolean | ReplayStore;
  /** Remote JWKS tuning (timeouts, cooldown); see RemoteKeySetOptions. */
  keySet?: Parameters<typeof createRemoteKeySet>[1];
  /** Clock, for tests. Default is the system clock. */
  currentDate?: () => Date;
}

export interface IdentityVerifier {
  /**
   * Verifies the identity token among `headers` for `request`. Throws IdentityError when it is missing,
   * invalid, not for this subgraph, not for this request, expired or replayed.
   */
  verify(headers: HeaderSource, request: BoundRequest): Promise<Identity>;
}

/** Node's IncomingHttpHeaders, a Fetch Headers or Apollo's HeaderMap. */
export type HeaderSource =
  | { get(name: string): string | null | undefined }
  | Record<string, string | string[] | undefined>;

export function createIdentityVerifier(options: IdentityVerifierOptions): IdentityVerifier {
  if (!options.subgraph) throw new TypeError('"subgraph" is required: the name this subgraph has in the supergraph');
  if (!options.issuer) throw new TypeError('"issuer" is required: the gateway\'s issuer identifier');
  const header = (options.header ?? IDENTITY_HEADER).toLowerCase();
  const keySet = keySetFrom(options.jwks, options.keySet);
  const replay = options.replay === true ? createMemoryReplayStore() : options.replay || undefined;
  const clockTolerance = options.clockToleranceSeconds ?? 5;

  return {
    async verify(headers, request) {
      const token = readHeader(headers, header);
      if (token === undefined) throw new IdentityError('UNAUTHENTICATED', `no ${header} header`);
      if (token.length > MAX_IDENTITY_TOKEN_BYTES) throw new IdentityError('UNAUTHENTICATED', 'identity token too large');
      let payload;
      try {
        ({ payload } = await jwtVerify(token, keySet.getKey, {
          issuer: options.issuer,
          audience: options.subgraph,
          typ: IDENTITY_TOKEN_TYPE,
          algorithms: [...IDENTITY_ALGORITHMS],
          requiredClaims: ['exp', 'iat', 'jti', 'rbh', 'amr'],
          clockTolerance,
          // Also refuses an iat in the future (beyond the tolerance), which jose otherwise does not check.
          maxTokenAge: MAX_IDENTITY_TTL_SECONDS,
          ...(options.currentDate ? { currentDate: options.currentDate() } : {}),
        }));
      } catch (error) {
        if (error instanceof KeySetUnavailableError) {
          throw new IdentityError('AUTH_UNAVAILABLE', 'gateway key set unavailable', { cause: error });
        }
        const code = error instanceof joseErrors.JOSEError ? error.code : 'ERR_MALFORMED';
        throw new IdentityError('UNAUTHENTICATED', `identity token rejected: ${code}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (payload.rbh !== requestBinding(request)) {
        throw new IdentityError('UNAUTHENTICATED', 'identity token is bound to another request (rbh mismatch)');
      }
      const identity = toIdentity(payload);
      // Remember the jti for as long as jwtVerify would still accept the token: expiry plus clock tolerance.
      const acceptedUntil = new Date(identity.expiresAt.getTime() + clockTolerance * 1000);
      if (replay && !(await replay.remember(identity.tokenId, acceptedUntil))) {
        throw new IdentityError('UNAUTHENTICATED', `identity token replayed (jti ${identity.tokenId})`);
      }
      return identity;
    },
  };
}

function keySetFrom(jwks: IdentityVerifierOptions['jwks'], tuning: IdentityVerifierOptions['keySet']): KeySet {
  if (typeof jwks === 'object' && !(jwks instanceof URL)) return createStaticKeySet(jwks);
  const text = String(jwks);
  if (/^https?:\/\//i.test(text)) return createRemoteKeySet(new URL(text), tuning);
  return createStaticKeySet(JSON.parse(readFileSync(text, 'utf8')) as JSONWebKeySet);
}

/** A header's value from any HeaderSource; undefined when absent or empty. */
export function readHeader(headers: HeaderSource, name: string): string | undefined {
  const value = typeof headers.get === 'function' ? (headers.get as (n: string) => unknown)(name) : (headers as Record<string, unknown>)[name];
  // Node joins duplicate unknown headers with ", " and a JWS has no comma or space: two tokens fail to parse.
  if (typeof value === 'string' && value.length > 0) return value;
  return undefined;
}

function toIdentity(payload: Record<string, unknown>): Identity {
  const method = payload.amr;
  if (typeof method !== 'string' || !(AUTH_METHODS as readonly string[]).includes(method)) {
    throw new IdentityError('UNAUTHENTICATED', 'identity token has an unknown amr');
  }
  const subject = optionalString(payload.sub, 'sub');
  if (method !== 'anonymous' && subject === undefined) {
    throw new IdentityError('UNAUTHENTICATED', `identity token for method ${method} has no sub`);
  }
  if (method === 'anonymous' && subject !== undefined) {
    throw new IdentityError('UNAUTHENTICATED', 'anonymous identity token has a sub');
  }
  const scope = payload.scope ?? '';
  if (typeof scope !== 'string') throw new IdentityError('UNAUTHENTICATED', 'identity token scope is not a string');
  const roles = payload.roles ?? [];
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
    throw new IdentityError('UNAUTHENTICATED', 'identity token roles is not an array of strings');
  }
  return Object.freeze({
    subject,
    issuer: optionalString(payload.orig_iss, 'orig_iss'),
    method: method as AuthMethod,
    scopes: Object.freeze(scope.split(' ').filter(Boolean)),
    roles: Object.freeze([...(roles as string[])]),
    tenant: optionalString(payload.tenant, 'tenant'),
    clientId: optionalString(payload.client_id, 'client_id'),
    expiresAt: new Date((payload.exp as number) * 1000),
    tokenId: String(payload.jti),
    authenticated: method !== 'anonymous',
  });
}

function optionalString(value: unknown, claim: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw new IdentityError('UNAUTHENTICATED', `identity token claim ${claim} is not a non-empty string`);
  }
  return value;
}

/**
 * A bounded in-memory replay store: remembers each `jti` until its token expires. When full, the entry
 * expiring first is dropped — a token that old is about to be refused for expiry anyway.
 */
export function createMemoryReplayStore(options: { maxEntries?: number; now?: () => number } = {}): ReplayStore {
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const seen = new Map<string, number>(); // insertion order ≈ expiry order: tokens have one lifetime
  return {
    remember(jti, expiresAt) {
      const time = now();
      for (const [key, expiry] of seen) {
        if (expiry > time && seen.size < maxEntries) break;
        seen.delete(key);
      }
      if (seen.has(jti)) return false;
      seen.set(jti, expiresAt.getTime());
      return true;
    },
  };
}
