/**
 * Deduplication's two halves (docs/overload.md): the key — what makes two subgraph requests the same —
 * and the sharing of one fetch in flight among the callers that wait for it.
 */
import { describe, expect, it } from 'vitest';
import { ANONYMOUS, type Principal } from '../../../gateway/auth/principal.ts';
import { FetchSharing, sharingKey } from '../../../gateway/subgraph/sharing.ts';

const alice: Principal = Object.freeze({
  id: 'jwt:https://idp.example:u1',
  subject: 'u1',
  issuer: 'https://idp.example',
  method: 'jwt',
  scopes: ['products:read'],
  roles: ['admin'],
  tenant: 'org-1',
  clientId: 'web',
  expiresAt: new Date('2030-01-01T00:00:00Z'),
});
const body = '{"query":"{ me { id } }","variables":{}}';
const headers = { 'content-type': 'application/json', 'accept-language': 'fr' };

describe('sharing key', () => {
  it('is the same for the same principal (another object), headers and body', () => {
    expect(sharingKey({ ...alice }, headers, body)).toBe(sharingKey(alice, headers, body));
  });

  it('differs when any field of the principal differs: two users never share a fetch', () => {
    const variants: Array<Partial<Principal>> = [
      { subject: 'u2', id: 'jwt:https://idp.example:u2' },
      { id: 'jwt:https://other-namespace.example:u1' },
      { issuer: 'https://other-idp.example' }, // the same subject at another issuer is another person
      { method: 'api_key' as Principal['method'] },
      { scopes: ['products:read', 'inventory:read'] },
      { roles: [] },
      { tenant: 'org-2' },
      { clientId: 'mobile' },
      { expiresAt: new Date('2030-01-01T00:00:01Z') }, // the shared token never outlives a credential it serves
    ];
    const base = sharingKey(alice, headers, body);
    for (const variant of variants) expect(sharingKey({ ...alice, ...variant }, headers, body), JSON.stringify(variant)).not.toBe(base);
    expect(sharingKey(ANONYMOUS, headers, body)).not.toBe(base);
  });

  it('differs by body and by forwarded header, but not by request id or trace context', () => {
    const base = sharingKey(alice, headers, body);
    expect(sharingKey(alice, headers, body.replace('me', 'you'))).not.toBe(base);
    expect(sharingKey(alice, { ...headers, 'accept-language': 'de' }, body)).not.toBe(base);
    expect(sharingKey(alice, { ...headers, baggage: 'k=v' }, body)).not.toBe(base);
    expect(sharingKey(alice, { ...headers, 'x-request-id': 'r2', traceparent: '00-abc-def-01', tracestate: 'x=y' }, body)).toBe(base);
  });
});

describe('sharing a fetch in flight', () => {
  function deferred<T>() {
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((r) => (resolve = r));
    return { promise, resolve };
  }

  it('callers with the same key get one fetch; its answer goes to all; a later caller fetches anew', async () => {
    const sharing = new FetchSharing<string>();
    const answer = deferred<string>();
    let fetches = 0;
    let joins = 0;
    const fetch = () => (fetches++, answer.promise);
    const a = sharing.run('k', undefined, fetch, () => void joins++);
    const b = sharing.run('k', undefined, fetch, () => void joins++);
    const other = sharing.run('other', undefined, async () => 'other', () => void joins++);
    answer.resolve('shared');
    expect(await Promise.all([a, b, other])).toEqual(['shared', 'shared', 'other']);
    expect([fetches, joins]).toEqual([1, 1]);
    expect(sharing.size).toBe(0);
    await sharing.run('k', undefined, async () => (fetches++, 'again'), () => void joins++);
    expect(fetches).toBe(2);
  });

  it('a caller that leaves gets its reason at once; the fetch goes on for the others', async () => {
    const sharing = new FetchSharing<string>();
    const answer = deferred<string>();
    let fetchSignal: AbortSignal | undefined;
    const leaving = new AbortController();
    const a = sharing.run('k', leaving.signal, (signal) => ((fetchSignal = signal), answer.promise), () => {});
    const b = sharing.run('k', new AbortController().signal, () => answer.promise, () => {});
    leaving.abort('client gone');
    await expect(a).rejects.toBe('client gone');
    expect(fetchSignal?.aborted).toBe(false);
    answer.resolve('for b');
    expect(await b).toBe('for b');
  });

  it('when every caller has left, the fetch is aborted and no one joins it any more', async () => {
    const sharing = new FetchSharing<string>();
    let fetchSignal: AbortSignal | undefined;
    const callers = [new AbortController(), new AbortController()];
    const never = new Promise<string>(() => {});
    const waits = callers.map((c) => sharing.run('k', c.signal, (signal) => ((fetchSignal = signal), never), () => {}));
    callers[0]!.abort('a left');
    expect(fetchSignal?.aborted).toBe(false);
    callers[1]!.abort('b left');
    await expect(Promise.all(waits)).rejects.toBe('a left');
    expect(fetchSignal?.aborted).toBe(true);
    expect(sharing.size).toBe(0);
    let fresh = 0;
    expect(await sharing.run('k', undefined, async () => (fresh++, 'fresh'), () => {})).toBe('fresh');
    expect(fresh).toBe(1);
  });

  it('a failed fetch fails every caller with the same error', async () => {
    const sharing = new FetchSharing<string>();
    const failure = new Error('subgraph down');
    let reject!: (error: Error) => void;
    const failing = new Promise<string>((_, r) => (reject = r));
    const a = sharing.run('k', undefined, () => failing, () => {});
    const b = sharing.run('k', undefined, () => failing, () => {});
    reject(failure);
    await expect(a).rejects.toBe(failure);
    await expect(b).rejects.toBe(failure);
  });
});
