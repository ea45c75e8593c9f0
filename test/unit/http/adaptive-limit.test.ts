/**
 * The adaptive bound on operations in flight (gateway/http/adaptive-limit.ts, docs/overload.md): it shrinks
 * in proportion when the event loop is late while the process had the CPU, holds when the loop was late
 * for want of CPU (other processes), and grows by one only when it was reached in a window on time.
 */
import { describe, expect, it } from 'vitest';
import { AdaptiveLimit, minOf } from '../../../gateway/http/adaptive-limit.ts';

const late = (delayMs: number, cpu = 1) => ({ delayMs, cpu });
const onTime = { delayMs: 5, cpu: 1 };

describe('adaptive limit', () => {
  it('starts at max; a late loop with the CPU busy shrinks it by target / delay, at most by half per window', () => {
    const limit = new AdaptiveLimit({ max: 64, targetMs: 20 });
    expect(limit.limit).toBe(64);
    expect(limit.next(late(400), true)).toBe(32); // × 0.05, held to one half
    expect(limit.next(late(25), false)).toBe(25); // × 20/25
    expect(limit.next(late(40), true)).toBe(16); // × 20/40 is 12: held to a quarter of max
  });

  it('never goes below a quarter of max (at least 1)', () => {
    const limit = new AdaptiveLimit({ max: 32, targetMs: 20 });
    for (let i = 0; i < 20; i++) limit.next(late(500), true);
    expect(limit.limit).toBe(8);
    expect(minOf(32)).toBe(8);
    expect(minOf(3)).toBe(1);
    const one = new AdaptiveLimit({ max: 1, targetMs: 20 });
    expect(one.next(late(500), true)).toBe(1);
  });

  it('holds when the loop was late without the process having the CPU (another process had it)', () => {
    const limit = new AdaptiveLimit({ max: 32, targetMs: 20 });
    expect(limit.next(late(200, 0.5), true)).toBe(32);
    expect(limit.next(late(200, 0.79), true)).toBe(32);
    expect(limit.next(late(200, 0.8), true)).toBe(16);
  });

  it('grows by one per window on time, only when the bound was reached, up to max', () => {
    const limit = new AdaptiveLimit({ max: 10, targetMs: 20 });
    limit.next(late(40), true);
    expect(limit.limit).toBe(5);
    expect(limit.next(onTime, false)).toBe(5); // not reached: an idle gateway does not inflate it
    expect(limit.next(onTime, true)).toBe(6);
    expect(limit.next(late(20), true)).toBe(7); // at the target is on time
    for (let i = 0; i < 10; i++) limit.next(onTime, true);
    expect(limit.limit).toBe(10);
  });
});
