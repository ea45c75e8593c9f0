/**
 * The revocation list (gateway/revocation/list.ts) on a frozen clock: what each kind refuses, that a
 * `sub` revocation spares credentials issued after it, that entries merge (later `at` and `until` win)
 * and expire, that API keys are revoked by id only, and that a full list refuses a new entry rather than
 * forgetting a live one.
 */
import { describe, expect, it } from 'vitest';
import { createRevocationList, parseRevocation, revocationJson, type Revocation } from '../../../gateway/revocation/list.ts';

const T = 1_800_000_000_000;
const entry = (kind: Revocation['kind'], id: string, at = T, until = T + 60_000): Revocation => ({ kind, id, at, until });

function list(maxEntries = 100) {
  let now = T;
  const applied: Revocation[] = [];
  const revocations = createRevocationList({ maxEntries, now: () => now, onApplied: (e) => void applied.push(e) });
  return { revocations, applied, advance: (ms: number) => (now += ms) };
}

describe('the revocation list', () => {
  it('sub: refuses credentials of that namespace and subject issued at or before `at`, whatever the method, except API keys', () => {
    const { revocations } = list();
    revocations.apply(entry('sub', 'shop:u2'));
    expect(revocations.refusal({ principalId: 'jwt:shop:u2', issuedAtMs: T - 1 })).toBe('sub');
    expect(revocations.refusal({ principalId: 'session:shop:u2', issuedAtMs: T })).toBe('sub');
    expect(revocations.refusal({ principalId: 'introspection:shop:u2' })).toBe('sub'); // no iat: issued before
    expect(revocations.refusal({ principalId: 'jwt:shop:u2', issuedAtMs: T + 1 })).toBeUndefined();
    expect(revocations.refusal({ principalId: 'jwt:other:u2', issuedAtMs: T - 1 })).toBeUndefined();
    expect(revocations.refusal({ principalId: 'jwt:shop:u20', issuedAtMs: T - 1 })).toBeUndefined();
    expect(revocations.refusal({ principalId: 'api_key:shop:u2' })).toBeUndefined();
  });

  it('jti, api-key and sid refuse exactly that id', () => {
    const { revocations } = list();
    revocations.apply(entry('jti', 'token-1'));
    revocations.apply(entry('api-key', '0123456789abcdef', T, Number.POSITIVE_INFINITY));
    revocations.apply(entry('sid', 'op-session'));
    expect(revocations.refusal({ principalId: 'jwt:shop:u2', tokenId: 'token-1', issuedAtMs: T + 5 })).toBe('jti');
    expect(revocations.refusal({ principalId: 'jwt:shop:u2', tokenId: 'token-2' })).toBeUndefined();
    expect(revocations.refusal({ principalId: 'api_key:p:bot', apiKeyId: '0123456789abcdef' })).toBe('api-key');
    expect(revocations.refusal({ principalId: 'api_key:p:bot', apiKeyId: '0123456789abcdee' })).toBeUndefined();
    expect(revocations.refusal({ principalId: 'session:shop:u2', sid: 'op-session', issuedAtMs: T + 5 })).toBe('sid');
  });

  it('merges by keeping the later at and until; the same entry twice is known; an expired one is not added', () => {
    const { revocations, applied } = list();
    expect(revocations.apply(entry('sub', 'shop:u2'))).toBe('added');
    expect(revocations.apply(entry('sub', 'shop:u2'))).toBe('known');
    expect(revocations.apply(entry('sub', 'shop:u2', T - 10, T + 10))).toBe('known');
    expect(revocations.apply(entry('sub', 'shop:u2', T + 500, T + 30_000))).toBe('changed');
    expect(revocations.get('sub', 'shop:u2')).toEqual(entry('sub', 'shop:u2', T + 500, T + 60_000));
    expect(revocations.apply(entry('jti', 'old', T - 100, T))).toBe('expired');
    expect(applied).toHaveLength(2);
  });

  it('forgets an entry once its until has passed (lookup and sweep)', () => {
    const { revocations, advance } = list();
    revocations.apply(entry('jti', 'a', T, T + 1_000));
    revocations.apply(entry('jti', 'b', T, T + 5_000));
    advance(1_000);
    expect(revocations.refusal({ principalId: undefined, tokenId: 'a' })).toBeUndefined();
    expect(revocations.refusal({ principalId: undefined, tokenId: 'b' })).toBe('jti');
    advance(5_000);
    expect(revocations.sweep()).toBe(1);
    expect(revocations.size).toBe(0);
  });

  it('full: sweeps expired entries, then refuses a new entry rather than evicting a live one', () => {
    const { revocations, advance } = list(2);
    revocations.apply(entry('jti', 'a', T, T + 1_000));
    revocations.apply(entry('jti', 'b', T, T + 9_000));
    expect(revocations.apply(entry('jti', 'c'))).toBe('full');
    expect(revocations.refusal({ principalId: undefined, tokenId: 'a' })).toBe('jti');
    expect(revocations.apply(entry('jti', 'b', T + 1, T + 9_000))).toBe('changed'); // a known entry can still change
    advance(1_000);
    expect(revocations.apply(entry('jti', 'c', T + 1_000, T + 9_000))).toBe('added');
  });

  it('parses only well-formed entries from untrusted sources; permanent entries travel as until: null', () => {
    const permanent = entry('api-key', 'k', T, Number.POSITIVE_INFINITY);
    expect(parseRevocation(JSON.parse(revocationJson(permanent)))).toEqual(permanent);
    for (const bad of [null, [], 'x', { kind: 'user', id: 'a', at: T, until: T }, { kind: 'jti', id: '', at: T, until: T }, { kind: 'jti', id: 'a\nb', at: T, until: T }, { kind: 'jti', id: 'x'.repeat(513), at: T, until: T }, { kind: 'jti', id: 'a', at: 'now', until: T }, { kind: 'jti', id: 'a', at: T }]) {
      expect(parseRevocation(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});
