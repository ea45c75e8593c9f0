/**
 * The key-set loader (subgraphs/kit/key-set.ts) at unit level: its timing rules under a frozen clock (the
 * `now` option), against a real local HTTP server on port 0 that counts requests. Single flight, unknown
 * kids fetched once the last attempt is minIntervalMs old and at most cooldownFetches times per cooldownMs,
 * stale-while-error, background refresh after maxAge, the revision that ends cached verifications when a
 * key is removed, bounded and
 * time-limited fetches, junk answers that never replace working keys, and KeySetUnavailableError when
 * there is nothing to verify with. test/integration/auth/key-fetching.test.ts covers the same rules end to
 * end through the gateway, with real time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteKeySet, createStaticKeySet, KeySetUnavailableError, type KeySet, type RemoteKeySetOptions } from '@frontdesk/kit/key-set';
import { createTestKey, type TestKey } from '../../support/issuer.ts';

// ---------------------------------------------------------------------------------------------------------
// A JWKS server that counts requests and answers as told.

type Answer =
  | { kind: 'keys'; keys: TestKey[] }
  | { kind: 'raw'; status: number; body: string; headers?: Record<string, string | number> }
  | { kind: 'chunked'; body: string }
  | { kind: 'hang' }
  | { kind: 'stall-body' }
  | { kind: 'redirect'; location: string };

interface JwksServer {
  url: URL;
  requests: number;
  /** Paths requested, in order. */
  paths: string[];
  /** Accept headers received, in order. */
  accepts: Array<string | undefined>;
  answer: Answer;
  /** While set, requests wait until `release()` before being answered. */
  hold: boolean;
  release(): void;
  /** Resolves once `count` requests have arrived; rejects if they have not within 2 s. */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

const servers: JwksServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startJwksServer(answer: Answer): Promise<JwksServer> {
  const held: Array<() => void> = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const respond = (res: ServerResponse) => {
    const current = state.answer;
    switch (current.kind) {
      case 'keys': {
        const body = JSON.stringify({ keys: current.keys.map((key) => key.publicJwk) });
        res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      case 'raw':
        res.writeHead(current.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(current.body), ...current.headers });
        res.end(current.body);
        return;
      case 'chunked':
        // No content-length: only the reader's running count can stop it.
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < current.body.length; i += 1024) res.write(current.body.slice(i, i + 1024));
        res.end();
        return;
      case 'hang':
        return;
      case 'stall-body':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
        res.write('{"keys":[');
        return;
      case 'redirect':
        res.writeHead(302, { location: current.location, 'content-length': 0 });
        res.end();
        return;
    }
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    state.paths.push(req.url ?? '');
    state.accepts.push(req.headers.accept);
    for (const waiter of waiters.filter((w) => state.requests >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    if (state.hold) held.push(() => respond(res));
    else respond(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: JwksServer = {
    url: new URL(`http://127.0.0.1:${port}/jwks.json`),
    requests: 0,
    paths: [],
    accepts: [],
    answer,
    hold: false,
    release() {
      state.hold = false;
      for (const send of held.splice(0)) send();
    },
    received(count) {
      if (state.requests >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} requests, got ${state.requests}`)), 2_000);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(state);
  return state;
}

// ---------------------------------------------------------------------------------------------------------
// Keys, tokens, a frozen clock.

let keyA: TestKey;
let keyB: TestKey;
let rogue: TestKey; // never published
beforeAll(async () => {
  [keyA, keyB, rogue] = await Promise.all([createTestKey('ES256', 'key-a'), createTestKey('ES256', 'key-b'), createTestKey('ES256', 'rogue')]);
});

function sign(key: TestKey, kid = key.kid): Promise<string> {
  return new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: key.alg, kid }).sign(key.privateKey);
}

/** Resolves with the verified kid, or rejects with what getKey threw. */
async function verify(keySet: KeySet, token: string): Promise<string | undefined> {
  const { protectedHeader } = await jwtVerify(token, keySet.getKey);
  return protectedHeader.kid;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected a rejection, got a result');
  return outcome;
}

async function expectNoMatchingKey(promise: Promise<unknown>): Promise<void> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(errors.JWKSNoMatchingKey);
  expect((error as errors.JWKSNoMatchingKey).code).toBe('ERR_JWKS_NO_MATCHING_KEY');
}

async function expectUnavailable(promise: Promise<unknown>, server: JwksServer, causeMessage?: string): Promise<KeySetUnavailableError> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(KeySetUnavailableError);
  expect((error as KeySetUnavailableError).code).toBe('ERR_KEY_SET_UNAVAILABLE');
  expect(error.name).toBe('KeySetUnavailableError');
  expect(error.message).toBe(`key set ${server.url.href} is unavailable`);
  if (causeMessage !== undefined) expect((error.cause as Error | undefined)?.message).toBe(causeMessage);
  return error as KeySetUnavailableError;
}

/** A clock that moves only when told. */
function frozenClock(start = 1_000_000) {
  let time = start;
  return {
    now: () => time,
    set: (ms: number) => {
      time = start + ms;
    },
  };
}

/** The promise's value if it settles within `ms`; a failure naming what it was waiting for otherwise. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Lets pending I/O and microtasks run (a background refresh reaching the server, its answer being read). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 20));

const COOLDOWN = 1_000;
const MAX_AGE = 10_000;

function keySetFor(server: JwksServer, clock: ReturnType<typeof frozenClock>, options: RemoteKeySetOptions = {}): KeySet {
  return createRemoteKeySet(server.url, { cooldownMs: COOLDOWN, maxAgeMs: MAX_AGE, timeoutMs: 2_000, now: clock.now, ...options });
}

/** A key set warmed at t=0 with key A. */
async function warm(answer: Answer = { kind: 'keys', keys: [keyA] }, options: RemoteKeySetOptions = {}) {
  const server = await startJwksServer(answer);
  const clock = frozenClock();
  const keySet = keySetFor(server, clock, options);
  expect(await verify(keySet, await sign(keyA))).toBe('key-a');
  expect(server.requests).toBe(1);
  return { server, clock, keySet };
}

// ---------------------------------------------------------------------------------------------------------

describe('createStaticKeySet', () => {
  it('verifies tokens signed by its keys and never fetches', async () => {
    const keySet = createStaticKeySet({ keys: [keyA.publicJwk, keyB.publicJwk] });
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');
    expect(await verify(keySet, await sign(keyB))).toBe('key-b');
  });

  it('an unknown kid is JWKSNoMatchingKey, not unavailable', async () => {
    const keySet = createStaticKeySet({ keys: [keyA.publicJwk] });
    await expectNoMatchingKey(verify(keySet, await sign(rogue)));
  });

  it('a known kid with another key\'s signature fails verification', async () => {
    const keySet = createStaticKeySet({ keys: [keyA.publicJwk] });
    const error = await failure(verify(keySet, await sign(rogue, 'key-a')));
    expect(error).toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('refresh is a no-op and current() is the set it was given', async () => {
    const keySet = createStaticKeySet({ keys: [keyA.publicJwk] });
    await expect(keySet.refresh()).resolves.toBeUndefined();
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] });
  });
});

describe('cold start', () => {
  it('current() is undefined before the first fetch, and the first verification fetches once', async () => {
    const server = await startJwksServer({ kind: 'keys', keys: [keyA] });
    const keySet = keySetFor(server, frozenClock());
    expect(keySet.current()).toBeUndefined();
    expect(server.requests).toBe(0); // nothing fetched at creation
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');
    expect(server.requests).toBe(1);
    expect(server.paths).toEqual(['/jwks.json']);
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] });
  });

  it('a failed cold fetch is KeySetUnavailableError carrying the cause', async () => {
    const server = await startJwksServer({ kind: 'raw', status: 500, body: 'oops' });
    const keySet = keySetFor(server, frozenClock());
    await expectUnavailable(verify(keySet, await sign(keyA)), server, 'key set fetch answered HTTP 500');
    expect(server.requests).toBe(1);
    expect(keySet.current()).toBeUndefined();
  });

  it('after a failed cold fetch, requests fail fast (no fetch) for min(cooldown, 5 s), counted from the attempt', async () => {
    const server = await startJwksServer({ kind: 'raw', status: 500, body: 'oops' });
    const clock = frozenClock();
    const keySet = keySetFor(server, clock, { cooldownMs: 30_000 });
    const token = await sign(keyA);
    await expectUnavailable(verify(keySet, token), server);
    server.answer = { kind: 'keys', keys: [keyA] }; // back, but not asked yet

    clock.set(4_999);
    const fast = await expectUnavailable(verify(keySet, token), server);
    expect(fast.cause).toBeUndefined(); // answered from the last failure, not a new attempt
    expect(server.requests).toBe(1);

    clock.set(5_000);
    expect(await verify(keySet, token)).toBe('key-a');
    expect(server.requests).toBe(2);
  });

  it('a cooldown shorter than 5 s shortens the fail-fast window', async () => {
    const server = await startJwksServer({ kind: 'raw', status: 503, body: '' });
    const clock = frozenClock();
    const keySet = keySetFor(server, clock, { cooldownMs: 300 });
    const token = await sign(keyA);
    await expectUnavailable(verify(keySet, token), server, 'key set fetch answered HTTP 503');
    clock.set(299);
    await expectUnavailable(verify(keySet, token), server);
    expect(server.requests).toBe(1);
    clock.set(300);
    await expectUnavailable(verify(keySet, token), server, 'key set fetch answered HTTP 503');
    expect(server.requests).toBe(2);
  });

  it('refresh() rejects with the fetch error itself', async () => {
    const server = await startJwksServer({ kind: 'raw', status: 404, body: 'not found' });
    const keySet = keySetFor(server, frozenClock());
    await expect(keySet.refresh()).rejects.toThrow('key set fetch answered HTTP 404');
  });

  it('onFetch reports each attempt, success or failure', async () => {
    const server = await startJwksServer({ kind: 'raw', status: 500, body: '' });
    const clock = frozenClock();
    const events: Array<{ url: string; ok: boolean; error?: Error; keys?: number }> = [];
    const keySet = keySetFor(server, clock, { onFetch: (event) => events.push(event) });
    await keySet.refresh().catch(() => {});
    server.answer = { kind: 'keys', keys: [keyA, keyB] };
    await keySet.refresh();
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ url: server.url.href, ok: false });
    expect(events[0]?.error?.message).toBe('key set fetch answered HTTP 500');
    expect(events[1]).toEqual({ url: server.url.href, ok: true, keys: 2 });
  });
});

describe('single flight', () => {
  it('20 concurrent cold verifications share one fetch', async () => {
    const server = await startJwksServer({ kind: 'keys', keys: [keyA] });
    server.hold = true;
    const keySet = keySetFor(server, frozenClock());
    const token = await sign(keyA);
    const results = Promise.all(Array.from({ length: 20 }, () => verify(keySet, token)));
    await server.received(1);
    await settle();
    server.release();
    expect(await results).toEqual(Array(20).fill('key-a'));
    expect(server.requests).toBe(1);
  });

  it('concurrent refresh() calls share one fetch', async () => {
    const server = await startJwksServer({ kind: 'keys', keys: [keyA] });
    const keySet = keySetFor(server, frozenClock());
    await Promise.all([keySet.refresh(), keySet.refresh(), keySet.refresh()]);
    expect(server.requests).toBe(1);
  });

  it('N concurrent unknown kids after the cooldown cost one fetch, and all are "no matching key"', async () => {
    const { server, clock, keySet } = await warm();
    clock.set(COOLDOWN);
    server.hold = true;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => sign(rogue, `random-${i}`)));
    const results = Promise.allSettled(tokens.map((token) => verify(keySet, token)));
    await server.received(2);
    await settle();
    server.release();
    for (const result of await results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(errors.JWKSNoMatchingKey);
    }
    expect(server.requests).toBe(2);
  });

  it('after a rotation, N concurrent tokens with the new kid wait for the one fetch and are all accepted', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'keys', keys: [keyB, keyA] };
    clock.set(COOLDOWN);
    server.hold = true;
    const token = await sign(keyB);
    const results = Promise.all(Array.from({ length: 20 }, () => verify(keySet, token)));
    await server.received(2);
    await settle();
    server.release();
    expect(await results).toEqual(Array(20).fill('key-b'));
    expect(server.requests).toBe(2);
  });

  it('an unknown kid arriving during a refresh of stale keys waits for it instead of fetching again', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'keys', keys: [keyA, keyB] };
    server.hold = true;
    clock.set(MAX_AGE + 1);
    const onStale = verify(keySet, await sign(keyA)); // waits for the refresh, which the server holds
    await server.received(2);
    const withNewKid = verify(keySet, await sign(keyB));
    await settle();
    server.release();
    expect(await onStale).toBe('key-a');
    expect(await withNewKid).toBe('key-b');
    expect(server.requests).toBe(2);
  });
});

describe('unknown kids with cooldownMs under 5 s (minIntervalMs capped to it): one fetch per cooldown, counted from the last attempt', () => {
  it('within the cooldown of a successful fetch: "no matching key" without a fetch; at the cooldown: one fetch', async () => {
    const { server, clock, keySet } = await warm();
    const unknown = await sign(rogue);
    clock.set(COOLDOWN - 1);
    await expectNoMatchingKey(verify(keySet, unknown));
    await expectNoMatchingKey(verify(keySet, unknown));
    expect(server.requests).toBe(1);

    clock.set(COOLDOWN);
    await expectNoMatchingKey(verify(keySet, unknown));
    expect(server.requests).toBe(2);

    clock.set(2 * COOLDOWN - 1); // the cooldown restarted at the second attempt
    await expectNoMatchingKey(verify(keySet, unknown));
    expect(server.requests).toBe(2);
    clock.set(2 * COOLDOWN);
    await expectNoMatchingKey(verify(keySet, unknown));
    expect(server.requests).toBe(3);
  });

  it('a failed attempt restarts the cooldown too, and within it an unknown kid is unavailable, not invalid', async () => {
    const { server, clock, keySet } = await warm();
    const unknown = await sign(rogue);
    server.answer = { kind: 'raw', status: 500, body: '' };

    clock.set(COOLDOWN);
    await expectUnavailable(verify(keySet, unknown), server, 'key set fetch answered HTTP 500');
    expect(server.requests).toBe(2);

    // The provider is back with a new key, but the last attempt (failed) was under a cooldown ago.
    server.answer = { kind: 'keys', keys: [keyA, keyB] };
    const rotated = await sign(keyB);
    clock.set(2 * COOLDOWN - 1);
    const fast = await expectUnavailable(verify(keySet, rotated), server);
    expect(fast.cause).toBeUndefined();
    expect(server.requests).toBe(2);

    clock.set(2 * COOLDOWN);
    expect(await verify(keySet, rotated)).toBe('key-b');
    expect(server.requests).toBe(3);
  });

  it('known kids keep verifying within the cooldown of a failed attempt', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'raw', status: 500, body: '' };
    clock.set(COOLDOWN);
    await expectUnavailable(verify(keySet, await sign(rogue)), server);
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');
    expect(server.requests).toBe(2);
  });
});

describe('a rotated key is found within minIntervalMs; a kid flood costs at most cooldownFetches per cooldown', () => {
  /** Defaults for everything but the clock: cooldown 30 s, minInterval 5 s, 2 fetches per cooldown. */
  async function warmDefaults(options: RemoteKeySetOptions = {}) {
    const server = await startJwksServer({ kind: 'keys', keys: [keyA] });
    const clock = frozenClock();
    const keySet = createRemoteKeySet(server.url, { now: clock.now, ...options });
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');
    return { server, clock, keySet };
  }

  it('a key rotated in right after a fetch is refused until the fetch is 5 s old, then accepted with one fetch', async () => {
    const { server, clock, keySet } = await warmDefaults();
    server.answer = { kind: 'keys', keys: [keyB, keyA] }; // rotated at the provider just after our fetch
    const rotated = await sign(keyB);
    clock.set(100); // its first use
    await expectNoMatchingKey(verify(keySet, rotated));
    clock.set(4_999);
    await expectNoMatchingKey(verify(keySet, rotated));
    expect(server.requests).toBe(1);
    clock.set(5_000); // 4.9 s after its first use
    expect(await verify(keySet, rotated)).toBe('key-b');
    expect(server.requests).toBe(2);
  });

  it('40 random kids cost at most 2 fetches in a cooldown (sliding), then 2 more in the next', async () => {
    const { server, clock, keySet } = await warmDefaults();
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => sign(rogue, `random-${i}`)));
    clock.set(5_000);
    const concurrent = await Promise.allSettled(tokens.slice(0, 20).map((token) => verify(keySet, token)));
    for (const result of concurrent) expect((result as PromiseRejectedResult).reason).toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(server.requests).toBe(2); // the 20 shared one fetch
    for (const [i, token] of tokens.slice(20).entries()) {
      clock.set(10_000 + i * 1_000); // 10 s … 29 s: past minInterval each time, inside the window of the fetch at 5 s
      await expectNoMatchingKey(verify(keySet, token));
    }
    expect(server.requests).toBe(3); // the second of the window, at 10 s; then none until 35 s
    clock.set(34_999);
    await expectNoMatchingKey(verify(keySet, tokens[0] as string));
    expect(server.requests).toBe(3);
    clock.set(35_000); // the fetch at 5 s has left the window
    await expectNoMatchingKey(verify(keySet, tokens[1] as string));
    expect(server.requests).toBe(4);
    clock.set(40_000); // the one at 10 s too
    await expectNoMatchingKey(verify(keySet, tokens[2] as string));
    clock.set(45_000);
    await expectNoMatchingKey(verify(keySet, tokens[3] as string));
    expect(server.requests).toBe(5);
  });

  it('once a flood has spent the budget, a rotated key waits for the window (at most cooldownMs), not longer', async () => {
    const { server, clock, keySet } = await warmDefaults();
    clock.set(5_000);
    await expectNoMatchingKey(verify(keySet, await sign(rogue, 'random-1')));
    clock.set(10_000);
    await expectNoMatchingKey(verify(keySet, await sign(rogue, 'random-2')));
    server.answer = { kind: 'keys', keys: [keyB, keyA] };
    const rotated = await sign(keyB);
    clock.set(34_999);
    await expectNoMatchingKey(verify(keySet, rotated));
    clock.set(35_000);
    expect(await verify(keySet, rotated)).toBe('key-b');
    expect(server.requests).toBe(4);
  });

  it('minIntervalMs counts from any attempt: a refresh after maxAge restarts it', async () => {
    const { server, clock, keySet } = await warmDefaults({ maxAgeMs: 60_000 });
    server.answer = { kind: 'keys', keys: [keyB, keyA] };
    clock.set(60_001);
    expect(await verify(keySet, await sign(keyA))).toBe('key-a'); // the refresh brings B along
    expect(server.requests).toBe(2);
    server.answer = { kind: 'keys', keys: [await createTestKey('ES256', 'key-c'), keyB, keyA] };
    clock.set(60_001 + 4_999);
    await expectNoMatchingKey(verify(keySet, await sign(rogue, 'key-c')));
    expect(server.requests).toBe(2);
  });

  it('minIntervalMs, cooldownFetches and cooldownMs are options; minIntervalMs is capped at cooldownMs', async () => {
    const { server, clock, keySet } = await warmDefaults({ minIntervalMs: 1_000, cooldownFetches: 3, cooldownMs: 10_000 });
    for (const [i, at] of [1_000, 2_000, 3_000, 4_000, 9_999].entries()) {
      clock.set(at);
      await expectNoMatchingKey(verify(keySet, await sign(rogue, `random-${i}`)));
    }
    expect(server.requests).toBe(4); // at 1, 2 and 3 s
    clock.set(11_000);
    await expectNoMatchingKey(verify(keySet, await sign(rogue, 'random-x')));
    expect(server.requests).toBe(5);

    const capped = await warmDefaults({ minIntervalMs: 60_000, cooldownMs: 2_000 });
    capped.clock.set(2_000);
    await expectNoMatchingKey(verify(capped.keySet, await sign(rogue)));
    expect(capped.server.requests).toBe(2);
  });

  it.each([0, 1.5, -1, Number.NaN])('cooldownFetches %s is a TypeError', (cooldownFetches) => {
    expect(() => createRemoteKeySet(new URL('http://127.0.0.1:9/jwks'), { cooldownFetches })).toThrow(
      new TypeError('"cooldownFetches" must be a whole number of at least 1'),
    );
  });
});

describe('refresh after maxAge', () => {
  it('at maxAge nothing is fetched; past it the request waits for the refresh, so a removed key stops verifying within maxAge', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'keys', keys: [keyB] }; // A is retired
    clock.set(MAX_AGE);
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');
    await settle();
    expect(server.requests).toBe(1);

    server.hold = true;
    clock.set(MAX_AGE + 1);
    const retired = verify(keySet, await sign(keyA));
    await server.received(2);
    await settle();
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] }); // still waiting: not answered from stale keys
    server.release();
    await expectNoMatchingKey(retired);
    expect(keySet.current()).toEqual({ keys: [keyB.publicJwk] });
    expect(await verify(keySet, await sign(keyB))).toBe('key-b');
    expect(server.requests).toBe(2);
  });

  it('many requests on stale keys share one refresh', async () => {
    const { server, clock, keySet } = await warm();
    server.hold = true;
    clock.set(MAX_AGE + 1);
    const token = await sign(keyA);
    const stale = Promise.all(Array.from({ length: 10 }, () => verify(keySet, token)));
    await server.received(2);
    await settle();
    server.release();
    expect(await stale).toEqual(Array(10).fill('key-a'));
    await settle();
    expect(server.requests).toBe(2);
  });

  it('while the provider is failing, stale keys answer at once and the refresh runs behind the request (stale-while-error)', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'raw', status: 500, body: '' };
    clock.set(MAX_AGE + 1);
    expect(await verify(keySet, await sign(keyA))).toBe('key-a'); // the failed refresh leaves the keys in place
    expect(server.requests).toBe(2);
    server.hold = true;
    clock.set(MAX_AGE + 1 + COOLDOWN + 1);
    expect(await within(500, verify(keySet, await sign(keyA)), 'a request on stale keys while the provider fails')).toBe('key-a');
    await server.received(3);
    server.release();
    await settle();
  });

  it('the next background refresh waits maxAge from the last success', async () => {
    const { server, clock, keySet } = await warm();
    const token = await sign(keyA);
    clock.set(MAX_AGE + 1);
    await verify(keySet, token);
    await server.received(2);
    await settle();
    clock.set(2 * MAX_AGE + 1);
    await verify(keySet, token);
    await settle();
    expect(server.requests).toBe(2);
    clock.set(2 * MAX_AGE + 2);
    await verify(keySet, token);
    await server.received(3);
    await settle();
    expect(server.requests).toBe(3);
  });
});

describe('revision and holds: a fetch that removes or changes a key ends the verifications made before it', () => {
  it('adding keys or fetching the same set keeps the revision; removing a key bumps it, and holds() turns false', async () => {
    const { server, keySet } = await warm();
    expect(keySet.revision).toBe(0);
    const stamp = keySet.revision;
    await keySet.refresh();
    server.answer = { kind: 'keys', keys: [keyB, keyA] };
    await keySet.refresh();
    expect(keySet.revision).toBe(0);
    expect(keySet.holds(stamp)).toBe(true); // answered at once, no promise
    server.answer = { kind: 'keys', keys: [keyB] };
    await keySet.refresh();
    expect(keySet.revision).toBe(1);
    expect(keySet.holds(stamp)).toBe(false);
    expect(keySet.holds(1)).toBe(true);
  });

  it('a key replaced under the same kid counts as removed', async () => {
    const { server, keySet } = await warm();
    const impostor = await createTestKey('ES256', 'key-a');
    server.answer = { kind: 'keys', keys: [impostor] };
    await keySet.refresh();
    expect(keySet.revision).toBe(1);
  });

  it('a failed or junk fetch keeps the revision', async () => {
    const { server, keySet } = await warm();
    for (const answer of [{ kind: 'raw', status: 500, body: '' }, { kind: 'raw', status: 200, body: '{"keys":[]}' }] as Answer[]) {
      server.answer = answer;
      await keySet.refresh().catch(() => {});
    }
    expect(keySet.revision).toBe(0);
    expect(keySet.holds(0)).toBe(true);
  });

  it('an unknown-kid fetch that brings a rotation without the old key bumps it too', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'keys', keys: [keyB] };
    clock.set(COOLDOWN);
    expect(await verify(keySet, await sign(keyB))).toBe('key-b');
    expect(keySet.holds(0)).toBe(false);
  });

  it('past maxAge, holds() waits for the refresh (single flight with getKey) and answers for the refreshed set', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'keys', keys: [keyB] };
    server.hold = true;
    clock.set(MAX_AGE + 1);
    const holding = keySet.holds(0);
    expect(holding).toBeInstanceOf(Promise);
    const verifying = verify(keySet, await sign(keyA));
    await server.received(2);
    await settle();
    server.release();
    expect(await holding).toBe(false);
    await expectNoMatchingKey(verifying);
    expect(server.requests).toBe(2);
  });

  it('past maxAge with the provider failing, holds() answers true at once (stale-while-error)', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'raw', status: 500, body: '' };
    clock.set(MAX_AGE + 1);
    expect(await keySet.holds(0)).toBe(true); // the first refresh fails: the keys stand
    server.answer = { kind: 'hang' };
    clock.set(MAX_AGE + 2 + COOLDOWN);
    expect(keySet.holds(0)).toBe(true); // no waiting on the hanging retry
    await server.received(3);
  });

  it('a static key set has revision 0 and always holds', () => {
    const keySet = createStaticKeySet({ keys: [keyA.publicJwk] });
    expect(keySet.revision).toBe(0);
    expect(keySet.holds(0)).toBe(true);
  });
});

describe('stale while error: the provider down does not stop known keys', () => {
  it('keys keep verifying while the server answers 500, with one background attempt per min(cooldown, maxAge)', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'raw', status: 500, body: '{"keys":[]}' };
    const token = await sign(keyA);

    clock.set(MAX_AGE + 1);
    expect(await verify(keySet, token)).toBe('key-a');
    await server.received(2);
    await settle();

    clock.set(MAX_AGE + 1 + COOLDOWN); // not strictly past the window since the failed attempt
    expect(await verify(keySet, token)).toBe('key-a');
    await settle();
    expect(server.requests).toBe(2);

    clock.set(MAX_AGE + 2 + COOLDOWN);
    expect(await verify(keySet, token)).toBe('key-a');
    await server.received(3);
    await settle();

    clock.set(100 * MAX_AGE); // hours later, still down: still verifying
    expect(await verify(keySet, token)).toBe('key-a');
    await settle();
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] });
    expect(server.requests).toBe(4);
  });

  it('while the background refresh is failing, an unknown kid fails fast as unavailable without waiting for it', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'raw', status: 500, body: '' };
    clock.set(MAX_AGE + 1);
    await verify(keySet, await sign(keyA));
    await server.received(2);
    await settle(); // the refresh has failed

    server.answer = { kind: 'hang' };
    clock.set(MAX_AGE + 1 + COOLDOWN + 1);
    await verify(keySet, await sign(keyA)); // a new background attempt, now hanging
    await server.received(3);
    const started = performance.now();
    await expectUnavailable(verify(keySet, await sign(rogue)), server);
    expect(performance.now() - started).toBeLessThan(500); // timeoutMs is 2 s: it did not join the hanging fetch
    expect(server.requests).toBe(3);
  });
});

describe('junk answers are refused and never replace working keys', () => {
  it.each([
    ['not JSON', { kind: 'raw', status: 200, body: '<html>maintenance</html>' }, 'key set response is not JSON'],
    ['an empty body', { kind: 'raw', status: 200, body: '' }, 'key set response is not JSON'],
    ['JSON null', { kind: 'raw', status: 200, body: 'null' }, 'key set response has no "keys" array of objects'],
    ['a JSON array', { kind: 'raw', status: 200, body: '[]' }, 'key set response has no "keys" array of objects'],
    ['no keys member', { kind: 'raw', status: 200, body: '{"issuer":"x"}' }, 'key set response has no "keys" array of objects'],
    ['keys not an array', { kind: 'raw', status: 200, body: '{"keys":{"kty":"EC"}}' }, 'key set response has no "keys" array of objects'],
    ['keys of numbers', { kind: 'raw', status: 200, body: '{"keys":[1]}' }, 'key set response has no "keys" array of objects'],
    ['keys of arrays', { kind: 'raw', status: 200, body: '{"keys":[[]]}' }, 'key set response has no "keys" array of objects'],
    ['keys with null', { kind: 'raw', status: 200, body: '{"keys":[null]}' }, 'key set response has no "keys" array of objects'],
    ['an empty key set', { kind: 'raw', status: 200, body: '{"keys":[]}' }, 'key set response has no keys'],
    ['keys without kty', { kind: 'raw', status: 200, body: '{"keys":[{"foo":1}]}' }, 'key set response has no usable signing key'],
    ['only encryption keys', { kind: 'raw', status: 200, body: '{"keys":[{"kty":"EC","use":"enc"}]}' }, 'key set response has no usable signing key'],
    ['only private keys', { kind: 'raw', status: 200, body: '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"a","d":"b"}]}' }, 'key set response has no usable signing key'],
    ['HTTP 500', { kind: 'raw', status: 500, body: '{"keys":[]}' }, 'key set fetch answered HTTP 500'],
    ['HTTP 204', { kind: 'raw', status: 204, body: '' }, 'key set fetch answered HTTP 204'],
  ] as Array<[string, Answer, string]>)('%s: refresh() rejects, cold getKey is unavailable', async (_name, answer, message) => {
    const server = await startJwksServer(answer);
    const keySet = keySetFor(server, frozenClock());
    await expect(keySet.refresh()).rejects.toThrow(message);
    expect(keySet.current()).toBeUndefined();
    const cold = keySetFor(server, frozenClock());
    await expectUnavailable(verify(cold, await sign(keyA)), server, message);
  });

  it('an empty key set after warm-up keeps the working keys', async () => {
    const { server, clock, keySet } = await warm();
    server.answer = { kind: 'raw', status: 200, body: '{"keys":[]}' };
    await expect(keySet.refresh()).rejects.toThrow('key set response has no keys');
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] });
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');

    clock.set(MAX_AGE + 1); // and through a background refresh as well
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');
    await server.received(3);
    await settle();
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] });
  });

  it('junk after warm-up keeps the working keys', async () => {
    const { server, keySet } = await warm();
    server.answer = { kind: 'raw', status: 200, body: '<html>' };
    await expect(keySet.refresh()).rejects.toThrow('key set response is not JSON');
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');
  });

  it('a redirect is never followed', async () => {
    const target = await startJwksServer({ kind: 'keys', keys: [keyA] });
    const server = await startJwksServer({ kind: 'redirect', location: target.url.href });
    const keySet = keySetFor(server, frozenClock());
    await expect(keySet.refresh()).rejects.toThrow('key set fetch answered HTTP 302');
    expect(server.requests).toBe(1);
    expect(target.requests).toBe(0);
  });

  it('the request asks for a JWK set', async () => {
    const server = await startJwksServer({ kind: 'keys', keys: [keyA] });
    await keySetFor(server, frozenClock()).refresh();
    expect(server.accepts).toEqual(['application/jwk-set+json, application/json']);
  });
});

describe('responses are bounded (maxBytes)', () => {
  const MAX_BYTES = 2_048;
  /** A valid key set padded with JSON whitespace to exactly `size` bytes. */
  const padded = (size: number) => {
    const body = JSON.stringify({ keys: [keyA.publicJwk] });
    return body + ' '.repeat(size - Buffer.byteLength(body));
  };

  it('exactly maxBytes is accepted, with a content-length', async () => {
    const server = await startJwksServer({ kind: 'raw', status: 200, body: padded(MAX_BYTES) });
    const keySet = keySetFor(server, frozenClock(), { maxBytes: MAX_BYTES });
    await keySet.refresh();
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] });
  });

  it('exactly maxBytes is accepted, chunked', async () => {
    const server = await startJwksServer({ kind: 'chunked', body: padded(MAX_BYTES) });
    const keySet = keySetFor(server, frozenClock(), { maxBytes: MAX_BYTES });
    await keySet.refresh();
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] });
  });

  it('one byte more with a declared content-length is refused from the header', async () => {
    const server = await startJwksServer({ kind: 'raw', status: 200, body: padded(MAX_BYTES + 1) });
    const keySet = keySetFor(server, frozenClock(), { maxBytes: MAX_BYTES });
    await expect(keySet.refresh()).rejects.toThrow(`key set response exceeds the ${MAX_BYTES}-byte limit`);
    expect(keySet.current()).toBeUndefined();
  });

  it('one byte more, chunked (no content-length), is refused while reading', async () => {
    const server = await startJwksServer({ kind: 'chunked', body: padded(MAX_BYTES + 1) });
    const keySet = keySetFor(server, frozenClock(), { maxBytes: MAX_BYTES });
    await expect(keySet.refresh()).rejects.toThrow(`key set response exceeds the ${MAX_BYTES}-byte limit`);
  });

  it('the default limit is 256 KiB', async () => {
    const server = await startJwksServer({ kind: 'chunked', body: padded(262_145) });
    const keySet = createRemoteKeySet(server.url, { now: frozenClock().now });
    await expect(keySet.refresh()).rejects.toThrow('key set response exceeds the 262144-byte limit');
    server.answer = { kind: 'chunked', body: padded(262_144) };
    await keySet.refresh();
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] });
  });

  it('an oversized answer after warm-up keeps the working keys', async () => {
    const { server, keySet } = await warm({ kind: 'keys', keys: [keyA] }, { maxBytes: MAX_BYTES });
    server.answer = { kind: 'chunked', body: JSON.stringify({ keys: [keyB.publicJwk] }) + ' '.repeat(MAX_BYTES) };
    await expect(keySet.refresh()).rejects.toThrow(`key set response exceeds the ${MAX_BYTES}-byte limit`);
    expect(await verify(keySet, await sign(keyA))).toBe('key-a');
    expect(keySet.current()).toEqual({ keys: [keyA.publicJwk] });
  });
});

describe('fetches are time-limited (timeoutMs)', () => {
  it('a server that never answers is cut off at timeoutMs', async () => {
    const server = await startJwksServer({ kind: 'hang' });
    const keySet = keySetFor(server, frozenClock(), { timeoutMs: 200 });
    const started = performance.now();
    const error = await failure(keySet.refresh());
    const elapsed = performance.now() - started;
    expect(error.name).toBe('TimeoutError');
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('a body that stalls after the headers is cut off at timeoutMs too', async () => {
    const server = await startJwksServer({ kind: 'stall-body' });
    const keySet = keySetFor(server, frozenClock(), { timeoutMs: 200 });
    const started = performance.now();
    const error = await failure(keySet.refresh());
    expect(error.name).toBe('TimeoutError');
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('a cold verification against a hanging server is unavailable, with the timeout as its cause', async () => {
    const server = await startJwksServer({ kind: 'hang' });
    const keySet = keySetFor(server, frozenClock(), { timeoutMs: 200 });
    const error = await expectUnavailable(verify(keySet, await sign(keyA)), server);
    expect((error.cause as Error).name).toBe('TimeoutError');
    expect(server.requests).toBe(1);
  });

  it('concurrent cold verifications against a hanging server share the one attempt', async () => {
    const server = await startJwksServer({ kind: 'hang' });
    const keySet = keySetFor(server, frozenClock(), { timeoutMs: 200 });
    const token = await sign(keyA);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => verify(keySet, token)));
    for (const result of results) expect((result as PromiseRejectedResult).reason).toBeInstanceOf(KeySetUnavailableError);
    expect(server.requests).toBe(1);
  });
});
