/**
 * The adaptive bound on operations in flight (gateway/http/adaptive-limit.ts, docs/overload.md): it shrinks
 * in proportion when the event loop is late while the process had the CPU, or when operations' median
 * latency is over the tolerance times the lowest median seen; holds when the loop was late for want of CPU
 * (other processes); and grows by one only when it was reached in a window on time.
 */
import { describe, expect, it } from 'vitest';
import { AdaptiveLimit, BASELINE_DRIFT, minOf } from '../../../gateway/http/adaptive-limit.ts';

const late = (delayMs: number, cpu = 1) => ({ delayMs, cpu });
const onTime = { delayMs: 5, cpu: 1 };

describe('adaptive limit', () => {
  it('starts at max; a late loop with the CPU busy shrinks it by target / delay, at most by half per window', () => {
    const limit = new AdaptiveLimit({ max: 64, targetMs: 20, latencyTolerance: 0 });
    expect(limit.limit).toBe(64);
    expect(limit.next(late(400), true)).toBe(32); // × 0.05, held to one half
    expect(limit.next(late(25), false)).toBe(25); // × 20/25
    expect(limit.next(late(40), true)).toBe(16); // × 20/40 is 12: held to a quarter of max
  });

  it('never goes below a quarter of max (at least 1)', () => {
    const limit = new AdaptiveLimit({ max: 32, targetMs: 20, latencyTolerance: 0 });
    for (let i = 0; i < 20; i++) limit.next(late(500), true);
    expect(limit.limit).toBe(8);
    expect(minOf(32)).toBe(8);
    expect(minOf(3)).toBe(1);
    const one = new AdaptiveLimit({ max: 1, targetMs: 20, latencyTolerance: 0 });
    expect(one.next(late(500), true)).toBe(1);
  });

  it('holds when the loop was late without the process having the CPU (another process had it)', () => {
    const limit = new AdaptiveLimit({ max: 32, targetMs: 20, latencyTolerance: 0 });
    expect(limit.next(late(200, 0.5), true)).toBe(32);
    expect(limit.next(late(200, 0.79), true)).toBe(32);
    expect(limit.next(late(200, 0.8), true)).toBe(16);
  });

  it('grows by one per window on time while reached, up to max', () => {
    const limit = new AdaptiveLimit({ max: 10, targetMs: 20, latencyTolerance: 0 });
    limit.next(late(40), true);
    expect(limit.limit).toBe(5);
    expect(limit.next(onTime, true)).toBe(6);
    expect(limit.next(late(20), true)).toBe(7); // at the target is on time
    for (let i = 0; i < 10; i++) limit.next(onTime, true);
    expect(limit.limit).toBe(10);
  });

  it('not reached, it limits no one: it doubles per window back to max, so a burst after an overload meets max', () => {
    const limit = new AdaptiveLimit({ max: 32, targetMs: 20, latencyTolerance: 2 });
    for (let i = 0; i < 3; i++) limit.next(late(200), true);
    expect(limit.limit).toBe(8);
    expect(limit.next(onTime, false)).toBe(16);
    expect(limit.next(onTime, false)).toBe(32);
    expect(limit.next(onTime, false)).toBe(32);
  });
});

describe('adaptive limit: the operations\' latency', () => {
  const calm = { delayMs: 1, cpu: 0.5 };

  it('shrinks by tolerance × lowest / median when the median is over tolerance × the lowest median seen', () => {
    const limit = new AdaptiveLimit({ max: 40, targetMs: 20, latencyTolerance: 2 });
    expect(limit.next(calm, true, 30)).toBe(40); // the lowest median: 30 ms (at max already)
    expect(limit.next(calm, true, 60)).toBe(40); // 2 × 30: allowed
    expect(limit.next(calm, true, 80)).toBe(30); // allowed 60.06 (the lowest creeps up) / 80
    expect(limit.next(calm, true, 400)).toBe(15); // at most halved
    expect(limit.next(calm, true, 400)).toBe(10); // never below a quarter of 40
  });

  it('does not grow while operations are slow, nor without enough of them to judge; grows by one once they are back within the tolerance', () => {
    const limit = new AdaptiveLimit({ max: 16, targetMs: 20, latencyTolerance: 2 });
    limit.next(calm, true, 10);
    expect(limit.next(calm, true, 40)).toBe(8);
    expect(limit.next(calm, true, 20)).toBe(9); // within 2 × 10
    expect(limit.next(calm, true, undefined)).toBe(9); // reached, too few operations ended to judge: it holds
    expect(limit.next(calm, false, undefined)).toBe(16); // not reached: it doubles (max 16)
  });

  it('the worse of the two signals decides', () => {
    const limit = new AdaptiveLimit({ max: 100, targetMs: 10, latencyTolerance: 2 });
    limit.next(calm, false, 10);
    expect(limit.next({ delayMs: 20, cpu: 1 }, true, 25)).toBe(50); // the loop: × 10/20; latency: × 20.02/25
    expect(limit.next({ delayMs: 12, cpu: 1 }, true, 40)).toBe(25); // the loop: × 10/12; latency: × 20.04/40
  });

  it('the lowest median creeps up by BASELINE_DRIFT per decision, so a lasting slower workload is learned', () => {
    const limit = new AdaptiveLimit({ max: 8, targetMs: 20, latencyTolerance: 2 });
    limit.next(calm, true, 10);
    const decisions = Math.ceil(Math.log(4) / Math.log(BASELINE_DRIFT)); // until 2 × lowest ≥ 80
    for (let i = 0; i < decisions; i++) limit.next(calm, true, 80);
    expect(limit.next(calm, true, 80)).toBeGreaterThan(2);
    for (let i = 0; i < 10; i++) limit.next(calm, true, 80);
    expect(limit.limit).toBe(8); // grown back to max at the new normal
  });

  it('slow operations shrink it only in a window where it was reached: below it, the arrivals set how many run at once', () => {
    const limit = new AdaptiveLimit({ max: 16, targetMs: 20, latencyTolerance: 2 });
    limit.next(calm, false, 10);
    expect(limit.next(calm, false, 100)).toBe(16);
    expect(limit.next(calm, true, 100)).toBe(8);
  });

  it('latencyTolerance 0: latency is not a signal', () => {
    const limit = new AdaptiveLimit({ max: 8, targetMs: 20, latencyTolerance: 0 });
    limit.next(calm, true, 10);
    expect(limit.next(calm, true, 1000)).toBe(8);
  });
});
