/**
 * The semaphore behind the admission control and the per-subgraph limit: a bound on holders, a bounded
 * queue served first come first served while short and newest first beyond, and waiters that leave when
 * their signal aborts.
 */
import { describe, expect, it } from 'vitest';
import { QUEUE_FULL, Semaphore, type Release } from '../../gateway/semaphore.ts';

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
