/**
 * The semaphore behind the admission control and the per-subgraph limit: a bound on holders, a bounded
 * queue served first come first served while short and newest first beyond, and waiters that leave when
 * their signal aborts.
 */
import { describe, expect, it } from 'vitest';
import { QUEUE_FULL, Semaphore, WAITED_TOO_LONG, type Release } from '../../gateway/semaphore.ts';

describe('semaphore', () => {
  it('holds at most max, queues at most maxQueue, refuses the next at once', async () => {
    const s = new Semaphore({ max: 2, maxQueue: 1 });
    const a = s.tryAcquire();
    const b = await s.acquire();
    expect(a).toBeDefined();
    expect(s.tryAcquire()).toBeUndefined();
    const queued = s.acquire();
    expect(s.waiting).toBe(1);
    expect(await s.acquire()).toBe(QUEUE_FULL);
    (b as Release)();
    const c = await queued;
    expect(c).not.toBe(QUEUE_FULL);
    expect(s.held).toBe(2);
    expect(s.waiting).toBe(0);
  });

  it('serves waiters first come, first served, and a release counts once', async () => {
    const s = new Semaphore({ max: 1, maxQueue: 10 });
    const first = s.tryAcquire() as Release;
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => s.acquire().then((release) => (order.push(n), release as Release)));
    first();
    first(); // a second call does nothing
    (await waiters[0]!)();
    (await waiters[1]!)();
    (await waiters[2]!)();
    expect(order).toEqual([1, 2, 3]);
    expect(s.held).toBe(0);
  });

  it('a waiter whose signal aborts leaves the queue with the reason and never takes a slot', async () => {
    const s = new Semaphore({ max: 1, maxQueue: 10 });
    const held = s.tryAcquire() as Release;
    const controller = new AbortController();
    const leaving = s.acquire(controller.signal);
    const staying = s.acquire();
    controller.abort('gone');
    await expect(leaving).rejects.toBe('gone');
    expect(s.waiting).toBe(1);
    held();
    expect(await staying).not.toBe(QUEUE_FULL);
    expect(s.held).toBe(1);
  });

  it('does not queue behind waiters: a free slot goes to the first in line', async () => {
    const s = new Semaphore({ max: 1, maxQueue: 10 });
    const held = s.tryAcquire() as Release;
    const waiter = s.acquire();
    held(); // passes straight to the waiter
    expect(s.tryAcquire()).toBeUndefined();
    expect(await waiter).not.toBe(QUEUE_FULL);
  });

  it('past newestFirstAbove waiters serves the newest first, then first come first served again', async () => {
    const s = new Semaphore({ max: 1, maxQueue: 10, newestFirstAbove: 2 });
    const held = s.tryAcquire() as Release;
    const order: number[] = [];
    const waiters = [1, 2, 3, 4].map((n) => s.acquire().then((release) => (order.push(n), release as Release)));
    held(); // 4 waiting > 2: the newest (4)
    (await waiters[3]!)(); // 3 waiting > 2: the newest (3)
    (await waiters[2]!)(); // 2 waiting: the oldest (1)
    (await waiters[0]!)();
    (await waiters[1]!)();
    expect(order).toEqual([4, 3, 1, 2]);
  });
});

describe('semaphore: a standing queue (RFC 8289) and a bound that changes', () => {
  /** A clock the test moves. */
  const clock = () => {
    let now = 1_000;
    return { now: () => now, advance: (ms: number) => void (now += ms) };
  };

  it('once the queue has stood intervalMs, a freed slot refuses the waiters older than maxWaitMs (WAITED_TOO_LONG) and serves the next', async () => {
    const time = clock();
    const s = new Semaphore({ max: 1, maxQueue: 10, standing: { intervalMs: 100, maxWaitMs: 20 }, now: time.now });
    const held = s.tryAcquire() as Release;
    const old1 = s.acquire();
    const old2 = s.acquire();
    time.advance(150); // the queue has not emptied for 150 ms: standing
    const fresh = s.acquire();
    time.advance(5);
    held();
    expect(await old1).toBe(WAITED_TOO_LONG);
    expect(await old2).toBe(WAITED_TOO_LONG);
    expect(await fresh).toBeTypeOf('function');
    expect(s.held).toBe(1);
    expect(s.waiting).toBe(0);
  });

  it('a burst younger than intervalMs waits as long as it must: nobody is refused', async () => {
    const time = clock();
    const s = new Semaphore({ max: 1, maxQueue: 10, standing: { intervalMs: 100, maxWaitMs: 20 }, now: time.now });
    const held = s.tryAcquire() as Release;
    const waiter = s.acquire();
    time.advance(60); // waited past maxWaitMs, but the queue is 60 ms old: a burst
    held();
    expect(await waiter).toBeTypeOf('function');
  });

  it('a queue that emptied starts standing anew', async () => {
    const time = clock();
    const s = new Semaphore({ max: 1, maxQueue: 10, standing: { intervalMs: 100, maxWaitMs: 20 }, now: time.now });
    const first = s.tryAcquire() as Release;
    const a = s.acquire();
    time.advance(90);
    first(); // the queue empties (a is served)
    const second = (await a) as Release;
    time.advance(50);
    const b = s.acquire(); // a new queue, 0 ms old
    time.advance(40);
    second();
    expect(await b).toBeTypeOf('function');
  });

  it('standingIntervalMs 0 (the gateway knows it is overloaded): a waiter older than maxWaitMs is refused even in a young queue', async () => {
    const time = clock();
    const s = new Semaphore({ max: 1, maxQueue: 10, newestFirstAbove: 0, standing: { intervalMs: 100, maxWaitMs: 20 }, now: time.now });
    const held = s.tryAcquire() as Release;
    const old = s.acquire();
    time.advance(30); // older than maxWaitMs; the queue is 30 ms old, a burst for intervalMs 100
    const fresh = s.acquire();
    s.standingIntervalMs = 0;
    held();
    // Newest first alone would serve `fresh` now and `old` at the next release, 30+ ms late: it is refused.
    expect(await fresh).toBeTypeOf('function');
    expect(await old).toBe(WAITED_TOO_LONG);
    s.standingIntervalMs = 100; // back to bursts: a waiter may wait past maxWaitMs again
    const later = s.acquire();
    time.advance(50);
    ((await fresh) as Release)();
    expect(await later).toBeTypeOf('function');
  });

  it('newestFirstAbove can change: 0 serves the newest first at any queue length', async () => {
    const s = new Semaphore({ max: 1, maxQueue: 10, newestFirstAbove: 5 });
    const held = s.tryAcquire() as Release;
    const order: number[] = [];
    const waiters = [1, 2].map((n) => s.acquire().then((release) => (order.push(n), release as Release)));
    s.newestFirstAbove = 0;
    held();
    (await waiters[1]!)();
    (await waiters[0]!)();
    expect(order).toEqual([2, 1]);
  });

  it('raising max serves waiters at once; lowering it lets holders finish and serves no one until below it', async () => {
    const s = new Semaphore({ max: 1, maxQueue: 10 });
    const a = s.tryAcquire() as Release;
    const waiters = [s.acquire(), s.acquire(), s.acquire()];
    s.max = 3;
    expect(s.held).toBe(3);
    expect(s.waiting).toBe(1);
    const b = (await waiters[0]) as Release;
    const c = (await waiters[1]) as Release;
    s.max = 1;
    a();
    b();
    expect(s.held).toBe(1); // c still holds; the last waiter is not served while 1 is held
    expect(s.waiting).toBe(1);
    c();
    expect(await waiters[2]).toBeTypeOf('function');
    expect(s.held).toBe(1);
    expect(() => (s.max = 0)).toThrow(TypeError);
  });
});
