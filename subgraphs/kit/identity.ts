/**
 * The subgraph side of the identity token contract: verify the token the gateway minted for this
 * subgraph and this exact request, and turn it into the Identity resolvers see.
 */
import { readFileSync } from 'node:fs';
import { errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  ClaimError,
  CLAIM_LIMITS,
  IDENTITY_ALGORITHMS,
  IDENTITY_HEADER,
  IDENTITY_TOKEN_TYPE,
  MAX_IDENTITY_TOKEN_BYTES,
  MAX_IDENTITY_TTL_SECONDS,
  readPrincipalClaims,
  requestBinding,
  type BoundRequest,
  type PrincipalFields,
  type RefusalReason,
} from './contract.ts';
import { IdentityError } from './errors.ts';
import { createRemoteKeySet, createStaticKeySet, KeySetUnavailableError, type KeySet } from './key-set.ts';
import { createMemoryReplayStore, rememberTokenId, type ReplayStore } from './replay.ts';

/**
 * Who a request is made for, as the gateway vouched for it. Policies compare `id`, never `subject`: a
 * subject is unique only within its issuer (docs/identity-token.md "The principal id").
 */
export interface Identity extends PrincipalFields {
  /** When the identity token expires. */
  readonly expiresAt: Date;
  /** The identity token's `jti`. */
  readonly tokenId: string;
  /** True when the caller is a real principal (not anonymous). */
  readonly authenticated: boolean;
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
      if (token === undefined) throw refuse('absent', `no ${header} header`);
      if (token.length > MAX_IDENTITY_TOKEN_BYTES) throw refuse('oversized', 'identity token too large');
      checkProtectedHeader(token);
      const now = options.currentDate?.() ?? new Date();
      let payload;
      try {
        ({ payload } = await jwtVerify(token, keySet.getKey, {
          issuer: options.issuer,
          audience: options.subgraph,
          algorithms: [...IDENTITY_ALGORITHMS],
          requiredClaims: ['exp', 'iat'],
          clockTolerance,
          currentDate: now,
        }));
      } catch (error) {
        if (error instanceof KeySetUnavailableError) {
          throw new IdentityError('AUTH_UNAVAILABLE', 'gateway key set unavailable', { cause: error });
        }
        const code = error instanceof joseErrors.JOSEError ? error.code : 'ERR_MALFORMED';
        throw refuse(ruleOf(error), `identity token rejected: ${code}: ${(error as Error).message}`, error);
      }
      const identity = toIdentity(payload, Math.floor(now.getTime() / 1000), clockTolerance);
      if (payload.rbh !== requestBinding(request)) {
        throw refuse('binding', 'identity token is bound to another request (rbh mismatch)');
      }
      // Remember the jti for as long as jwtVerify would still accept the token: expiry plus clock tolerance.
      const acceptedUntil = new Date(identity.expiresAt.getTime() + clockTolerance * 1000);
      if (replay) await rememberTokenId(replay, identity.tokenId, acceptedUntil);
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

const refuse = (rule: RefusalReason, reason: string, cause?: unknown) =>
  new IdentityError('UNAUTHENTICATED', `${reason} [${rule}]`, { rule, ...(cause === undefined ? {} : { cause }) });

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Any version of the identity token's typ, after RFC 7515 §4.1.9 normalisation; v0 had no version. */
const IDENTITY_TYPE_FAMILY = /^frontdesk-identity(?:\.v\d+)?\+jwt$/;

/**
 * The header rules, before any key is looked up (docs/identity-token.md "Verifying — the rules" 2-6): a
 * JWS compact serialisation, an allowed alg, this version's typ, no crit, a kid.
 */
function checkProtectedHeader(token: string): void {
  if (!JWS_COMPACT.test(token)) throw refuse('malformed', 'identity token is not a JWS compact serialisation');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
  } catch {
    throw refuse('malformed', 'identity token header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw refuse('malformed', 'identity token header is not a JSON object');
  const { alg, typ, crit, kid } = header as Record<string, unknown>;
  if (!(IDENTITY_ALGORITHMS as readonly unknown[]).includes(alg)) throw refuse('alg', `identity token alg ${JSON.stringify(alg)} is not allowed`);
  const type = typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined;
  if (type !== IDENTITY_TOKEN_TYPE) {
    if (type !== undefined && IDENTITY_TYPE_FAMILY.test(type)) throw refuse('version', `identity token typ ${typ} is another contract version than ${IDENTITY_TOKEN_TYPE}`);
    throw refuse('typ', `identity token typ ${JSON.stringify(typ)} is not ${IDENTITY_TOKEN_TYPE}`);
  }
  if (crit !== undefined) throw refuse('crit', 'identity token has a crit header member');
  if (typeof kid !== 'string' || kid.length === 0) throw refuse('kid', 'identity token has no kid');
}

/** The rule a jose verification error broke. */
function ruleOf(error: unknown): RefusalReason {
  if (!(error instanceof joseErrors.JOSEError)) return 'malformed';
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) return 'kid';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'alg';
  if (error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired) {
    const claim = error.claim as RefusalReason;
    return (['iss', 'aud', 'exp', 'nbf', 'iat'] as const).includes(claim as 'iss') ? claim : 'claims';
  }
  return 'malformed';
}

/**
 * The rules on claims jose does not check (docs/identity-token.md "Verifying — the rules" 9-12): `aud` a
 * single string, `iat` not in the future, the lifetime cap, `jti` and `rbh` strings, and the principal's
 * claims, typed and bounded.
 */
function toIdentity(payload: Record<string, unknown>, now: number, clockTolerance: number): Identity {
  if (typeof payload.aud !== 'string') throw refuse('aud', 'identity token aud is not a single string');
  const iat = payload.iat as number; // jose checked it is a number
  const exp = payload.exp as number;
  if (iat > now + clockTolerance) throw refuse('iat', 'identity token iat is in the future');
  if (exp < iat || exp - iat > MAX_IDENTITY_TTL_SECONDS) throw refuse('lifetime', `identity token lifetime ${exp - iat}s is outside 0-${MAX_IDENTITY_TTL_SECONDS}s`);
  const { jti, rbh } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > CLAIM_LIMITS.tokenId) throw refuse('claims', 'identity token jti is not a string of 1-255 characters');
  if (typeof rbh !== 'string') throw refuse('claims', 'identity token rbh is not a string');
  let principal: PrincipalFields;
  try {
    principal = readPrincipalClaims(payload);
  } catch (error) {
    if (error instanceof ClaimError) throw refuse(error.rule, `identity token claims: ${error.message}`);
    throw error;
  }
  return Object.freeze({
    ...principal,
    expiresAt: new Date(exp * 1000),
    tokenId: jti,
    authenticated: principal.method !== 'anonymous',
  });
}
