/**
 * Principal mapping (gateway/auth/principal.ts): how a verified JWT payload and an issuer's claim mapping
 * become a Principal. Claims are read by exact name, then by dotted path through own properties of plain
 * objects only; ill-typed or oversized claims refuse the token (invalid_token), never yield a partial
 * principal.
 */
import { describe, expect, it } from 'vitest';
import { ANONYMOUS, principalFromClaims, readClaim, servicePrincipal } from '../../../gateway/auth/principal.ts';
import type { ClaimMapping } from '../../../gateway/config/types.ts';
import { AuthError } from '../../../gateway/errors.ts';

const ISSUER = 'https://idp.test';
const EXP = 1_900_000_000;
/** The defaults of gateway/config/defaults.ts. */
const MAPPING: ClaimMapping = { subject: 'sub', scopes: ['scope', 'scp'], roles: ['roles'], tenant: undefined, clientId: ['client_id', 'azp'] };

function principal(claims: Record<string, unknown>, mapping: Partial<ClaimMapping> = {}) {
  return principalFromClaims({ sub: 'user-1', exp: EXP, ...claims }, { issuer: ISSUER, principalNamespace: ISSUER, claims: { ...MAPPING, ...mapping } });
}

/** The token is refused as invalid_token with the server-only reason given; the client sees the generic description. */
function expectInvalid(run: () => unknown, reason: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AuthError);
  const error = caught as AuthError;
  expect({ code: error.code, bearerError: error.bearerError, description: error.description, reason: error.reason }).toEqual({
    code: 'UNAUTHENTICATED',
    bearerError: 'invalid_token',
    description: 'The access token is invalid',
    reason,
  });
}

describe('readClaim', () => {
  it('reads a top-level claim', () => {
    expect(readClaim({ sub: 'u1' }, 'sub')).toBe('u1');
  });

  it('an absent claim is undefined', () => {
    expect(readClaim({ sub: 'u1' }, 'tenant')).toBeUndefined();
  });

  it('reads an exact name full of dots first (namespaced claims are URLs)', () => {
    const payload = { 'https://shop.example/roles': ['admin'], https: { '//shop': { example: 'not this' } } };
    expect(readClaim(payload, 'https://shop.example/roles')).toEqual(['admin']);
  });

  it('the exact name wins over a dotted path to the same name', () => {
    expect(readClaim({ 'a.b': 'exact', a: { b: 'nested' } }, 'a.b')).toBe('exact');
  });

  it('falls back to a dotted path into nested objects', () => {
    expect(readClaim({ realm_access: { roles: ['admin', 'user'] } }, 'realm_access.roles')).toEqual(['admin', 'user']);
    expect(readClaim({ a: { b: { c: 'deep' } } }, 'a.b.c')).toBe('deep');
  });

  it('returns a nested value of any type as is (typing is the caller\'s job)', () => {
    expect(readClaim({ a: { b: 0 } }, 'a.b')).toBe(0);
    expect(readClaim({ a: { b: null } }, 'a.b')).toBeNull();
  });

  it('a path through a missing or non-object segment is undefined', () => {
    expect(readClaim({ a: { b: 1 } }, 'a.c')).toBeUndefined();
    expect(readClaim({ a: 'text' }, 'a.length')).toBeUndefined();
    expect(readClaim({ a: 5 }, 'a.b')).toBeUndefined();
    expect(readClaim({ a: null }, 'a.b')).toBeUndefined();
    expect(readClaim({ a: { b: 1 } }, 'a.b.c')).toBeUndefined();
  });

  it('does not traverse arrays', () => {
    const payload = { roles: ['admin', 'user'], groups: [{ name: 'g1' }] };
    expect(readClaim(payload, 'roles.0')).toBeUndefined();
    expect(readClaim(payload, 'roles.length')).toBeUndefined();
    expect(readClaim(payload, 'groups.0.name')).toBeUndefined();
  });

  describe('never reaches the prototype chain', () => {
    it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])('"%s" of a plain payload is undefined', (name) => {
      expect(readClaim({ sub: 'u1' }, name)).toBeUndefined();
    });

    it.each(['constructor.name', 'constructor.prototype', '__proto__.toString', 'sub.constructor', 'a.__proto__', 'a.constructor.name', 'a.b.toString'])(
      'the dotted path "%s" is undefined',
      (name) => {
        expect(readClaim({ sub: 'u1', a: { b: {} } }, name)).toBeUndefined();
      },
    );

    it('a claim inherited from a polluted prototype is not read', () => {
      const payload = Object.create({ roles: ['admin'], nested: { roles: ['admin'] } }) as Record<string, unknown>;
      payload.sub = 'u1';
      expect(readClaim(payload, 'roles')).toBeUndefined();
      expect(readClaim(payload, 'nested.roles')).toBeUndefined();
    });

    it('a token\'s own "__proto__" claim (as JSON.parse makes it) is read as data, without touching the prototype', () => {
      const payload = JSON.parse('{"sub":"u1","__proto__":{"roles":["admin"]}}') as Record<string, unknown>;
      expect(readClaim(payload, '__proto__.roles')).toEqual(['admin']);
      expect(readClaim(payload, 'roles')).toBeUndefined();
      expect(Object.getPrototypeOf(payload)).toBe(Object.prototype);
    });

    it('works on a payload without a prototype', () => {
      const payload = Object.assign(Object.create(null) as Record<string, unknown>, { sub: 'u1', a: { b: 'x' } });
      expect(readClaim(payload, 'sub')).toBe('u1');
      expect(readClaim(payload, 'a.b')).toBe('x');
      expect(readClaim(payload, 'constructor')).toBeUndefined();
    });
  });
});

describe('principalFromClaims: the fixed fields', () => {
  it('a minimal token: subject, issuer, method jwt, no scopes or roles, expiresAt from exp', () => {
    const result = principal({});
    expect(result.subject).toBe('user-1');
    expect(result.issuer).toBe(ISSUER);
    expect(result.method).toBe('jwt');
    expect(result.scopes).toEqual([]);
    expect(result.roles).toEqual([]);
    expect(result.tenant).toBeUndefined();
    expect(result.clientId).toBeUndefined();
    expect(result.expiresAt).toEqual(new Date(EXP * 1000));
  });

  it('the principal and its lists are frozen', () => {
    const result = principal({ scope: 'a b', roles: ['r'] });
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.scopes)).toBe(true);
    expect(Object.isFrozen(result.roles)).toBe(true);
  });
});

describe('principalFromClaims: the subject', () => {
  const reason = 'claim sub is not a string of 1-255 characters';

  it('255 characters is accepted', () => {
    expect(principal({ sub: 's'.repeat(255) }).subject).toBe('s'.repeat(255));
  });

  it('256 characters is refused', () => {
    expectInvalid(() => principal({ sub: 's'.repeat(256) }), reason);
  });

  it('an empty subject is refused', () => {
    expectInvalid(() => principal({ sub: '' }), reason);
  });

  it('a missing subject is refused', () => {
    expectInvalid(() => principalFromClaims({ exp: EXP }, { issuer: ISSUER, principalNamespace: ISSUER, claims: MAPPING }), reason);
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['an array', ['u1']],
    ['an object', { id: 'u1' }],
    ['a boolean', true],
  ])('%s is refused', (_name, sub) => {
    expectInvalid(() => principal({ sub }), reason);
  });

  it('a mapped subject claim is read (by dotted path too) and named in the reason', () => {
    expect(principal({ oid: 'object-id' }, { subject: 'oid' }).subject).toBe('object-id');
    expect(principal({ user: { id: 'nested-id' } }, { subject: 'user.id' }).subject).toBe('nested-id');
    expectInvalid(() => principal({}, { subject: 'oid' }), 'claim oid is not a string of 1-255 characters');
  });
});

describe('principalFromClaims: scopes and roles', () => {
  it('scopes from a space-separated string (RFC 8693 §4.2)', () => {
    expect(principal({ scope: 'products:read reviews:write' }).scopes).toEqual(['products:read', 'reviews:write']);
  });

  it('scopes from an array (scp)', () => {
    expect(principal({ scp: ['products:read', 'reviews:write'] }).scopes).toEqual(['products:read', 'reviews:write']);
  });

  it('the union of every listed claim, in order of first appearance', () => {
    expect(principal({ scope: 'a b', scp: ['c', 'a'] }).scopes).toEqual(['a', 'b', 'c']);
  });

  it('duplicates are removed', () => {
    expect(principal({ scope: 'a b a b' }).scopes).toEqual(['a', 'b']);
    expect(principal({ roles: ['x', 'x', 'y'] }).roles).toEqual(['x', 'y']);
  });

  it('empty items are skipped', () => {
    expect(principal({ scope: ' a  b ' }).scopes).toEqual(['a', 'b']);
    expect(principal({ scp: ['', 'a'] }).scopes).toEqual(['a']);
    expect(principal({ scope: '' }).scopes).toEqual([]);
    expect(principal({ scp: [] }).scopes).toEqual([]);
  });

  it('roles from an array, a space-separated string, or a dotted path', () => {
    expect(principal({ roles: ['admin', 'user'] }).roles).toEqual(['admin', 'user']);
    expect(principal({ roles: 'admin user' }).roles).toEqual(['admin', 'user']);
    expect(principal({ realm_access: { roles: ['admin'] } }, { roles: ['realm_access.roles'] }).roles).toEqual(['admin']);
  });

  it('scopes and roles are read from their own claims only', () => {
    const result = principal({ scope: 'a', roles: ['r'] });
    expect(result.scopes).toEqual(['a']);
    expect(result.roles).toEqual(['r']);
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['an object', { a: true }],
    ['a boolean', true],
  ])('a claim that is %s is refused', (_name, scope) => {
    expectInvalid(() => principal({ scope }), 'claim scope is neither a string nor an array');
  });

  it.each([
    ['a number', ['a', 1]],
    ['null', ['a', null]],
    ['an array', ['a', ['b']]],
    ['an object', [{ name: 'a' }]],
  ])('an array with %s as an item is refused', (_name, scp) => {
    expectInvalid(() => principal({ scp }), 'claim scp has a non-string item');
  });

  it('an ill-typed roles claim names the roles claim', () => {
    expectInvalid(() => principal({ roles: 7 }), 'claim roles is neither a string nor an array');
  });

  describe('size caps', () => {
    const items = (count: number, prefix = 's') => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

    it('an item of 256 characters is accepted', () => {
      expect(principal({ scope: 'x'.repeat(256) }).scopes).toEqual(['x'.repeat(256)]);
    });

    it('an item of 257 characters is refused', () => {
      expectInvalid(() => principal({ scope: 'x'.repeat(257) }), 'claim scope is too large');
    });

    it('256 distinct items are accepted', () => {
      expect(principal({ scp: items(256) }).scopes).toHaveLength(256);
    });

    it('257 distinct items are refused', () => {
      expectInvalid(() => principal({ scp: items(257) }), 'claim scp is too large');
    });

    it('the cap is on the union: 200 + 57 distinct is refused, named by the claim that crossed it', () => {
      expectInvalid(() => principal({ scope: items(200).join(' '), scp: items(57, 't') }), 'claim scp is too large');
    });

    it('scopes and roles have a cap each', () => {
      const result = principal({ scp: items(256), roles: items(256, 'r') });
      expect(result.scopes).toHaveLength(256);
      expect(result.roles).toHaveLength(256);
    });
  });
});

describe('principalFromClaims: tenant', () => {
  it('is not read without a mapping, even when the token has one', () => {
    expect(principal({ tenant: 't1', tid: 't1' }).tenant).toBeUndefined();
  });

  it('is read from the mapped claim, by dotted path too', () => {
    expect(principal({ tid: 'tenant-1' }, { tenant: 'tid' }).tenant).toBe('tenant-1');
    expect(principal({ org: { id: 'tenant-2' } }, { tenant: 'org.id' }).tenant).toBe('tenant-2');
  });

  it('is undefined when the mapped claim is absent', () => {
    expect(principal({}, { tenant: 'tid' }).tenant).toBeUndefined();
  });

  it('256 characters is accepted', () => {
    expect(principal({ tid: 't'.repeat(256) }, { tenant: 'tid' }).tenant).toBe('t'.repeat(256));
  });

  it.each([
    ['empty', ''],
    ['257 characters', 't'.repeat(257)],
    ['a number', 7],
    ['null', null],
    ['an array', ['t1']],
  ])('%s is refused', (_name, tid) => {
    expectInvalid(() => principal({ tid }, { tenant: 'tid' }), 'claim tid is not a string of 1-256 characters');
  });
});

describe('principalFromClaims: clientId', () => {
  it('is client_id first', () => {
    expect(principal({ client_id: 'cli', azp: 'party' }).clientId).toBe('cli');
  });

  it('then azp', () => {
    expect(principal({ azp: 'party' }).clientId).toBe('party');
  });

  it('is undefined when no listed claim is present', () => {
    expect(principal({ cid: 'x' }).clientId).toBeUndefined();
  });

  it('an ill-typed first claim is refused rather than skipped', () => {
    expectInvalid(() => principal({ client_id: 42, azp: 'party' }), 'claim client_id is not a string of 1-256 characters');
  });

  it('an empty client_id is refused', () => {
    expectInvalid(() => principal({ client_id: '' }), 'claim client_id is not a string of 1-256 characters');
  });
});

describe('ANONYMOUS and servicePrincipal', () => {
  it('ANONYMOUS has no subject, no issuer, no scopes, and is frozen', () => {
    expect(ANONYMOUS.subject).toBeUndefined();
    expect(ANONYMOUS.issuer).toBeUndefined();
    expect(ANONYMOUS.method).toBe('anonymous');
    expect(ANONYMOUS.scopes).toEqual([]);
    expect(ANONYMOUS.roles).toEqual([]);
    expect(Object.isFrozen(ANONYMOUS)).toBe(true);
  });

  it('the service principal is the gateway itself, method service, without scopes', () => {
    const service = servicePrincipal('https://gateway.test');
    expect(service.subject).toBe('https://gateway.test');
    expect(service.method).toBe('service');
    expect(service.scopes).toEqual([]);
    expect(service.issuer).toBeUndefined();
    expect(Object.isFrozen(service)).toBe(true);
  });
});
