/**
 * The guard's order of protections (gateway/subgraph/guard.ts), with a fake send: what a fetch meets when
 * the subgraph stalls.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../gateway/log.ts';
import { SubgraphFetchFailed, SubgraphGuard, type SubgraphAnswer } from '../../../gateway/subgraph/guard.ts';

const log = createLogger({ level: 'silent' });
const never = () => new Promise<SubgraphAnswer>(() => {});

describe('subgraph guard', () => {
  it('with the breaker open, an identical fetch fails fast instead of joining the stalled one in flight', async () => {
    const guard = new SubgraphGuard('reviews', { concurrency: 1, queueTimeoutMs: 30, failures: 1, coolDownMs: 60_000, dedup: true, log, onEvent: () => {} });
    const call = (sharingKey: string) => ({ timeoutMs: 60_000, signal: undefined, sharingKey });
    void guard.fetch(call('k'), never).catch(() => {}); // stalls, holding the one slot
    // Waits its slot wait while nothing comes back: the subgraph has stalled, the breaker opens.
    await expect(guard.fetch(call('other'), never)).rejects.toMatchObject({ reason: 'busy' });
    expect(guard.breakerState).toBe('open');
    const started = performance.now();
    const outcome = await Promise.race([
      guard.fetch(call('k'), never).then(() => 'answered', (error: unknown) => error),
      new Promise((resolve) => setTimeout(resolve, 2_000, 'still waiting')),
    ]);
    expect(outcome).toBeInstanceOf(SubgraphFetchFailed);
    expect(outcome).toMatchObject({ reason: 'circuit open' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('while closed, an identical fetch joins the one in flight: one send', async () => {
    const guard = new SubgraphGuard('reviews', { concurrency: 4, queueTimeoutMs: 1_000, failures: 1, coolDownMs: 60_000, dedup: true, log, onEvent: () => {} });
    let sends = 0;
    let answer!: (value: SubgraphAnswer) => void;
    const send = () => ((sends += 1), new Promise<SubgraphAnswer>((resolve) => (answer = resolve)));
    const call = { timeoutMs: 60_000, signal: undefined, sharingKey: 'k' };
    const both = Promise.all([guard.fetch(call, send), guard.fetch(call, send)]);
    await new Promise((resolve) => setImmediate(resolve));
    answer({ statusCode: 200, text: '{}' });
    expect(await both).toEqual([{ statusCode: 200, text: '{}' }, { statusCode: 200, text: '{}' }]);
    expect(sends).toBe(1);
  });

  it('a joiner waits for a shared fetch at most queueTimeout, then makes its own through the breaker and the limit', async () => {
    const guard = new SubgraphGuard('reviews', { concurrency: 1, queueTimeoutMs: 50, failures: 5, coolDownMs: 60_000, dedup: true, log, onEvent: () => {} });
    const call = { timeoutMs: 60_000, signal: undefined, sharingKey: 'k' };
    void guard.fetch(call, never).catch(() => {}); // the shared fetch stalls, holding the one slot
    const started = performance.now();
    const outcome = await Promise.race([
      guard.fetch(call, never).then(() => 'answered', (error: unknown) => error),
      new Promise((resolve) => setTimeout(resolve, 2_000, 'still waiting')),
    ]);
    // 50 ms waiting on the shared fetch, 50 ms waiting for a slot of its own: then SUBGRAPH_UNAVAILABLE.
    expect(outcome).toMatchObject({ reason: 'busy' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('when the breaker opens, the fetches in flight to the subgraph fail at once instead of at the subgraph timeout', async () => {
    const guard = new SubgraphGuard('reviews', { concurrency: 1, queueTimeoutMs: 30, failures: 1, coolDownMs: 60_000, dedup: false, log, onEvent: () => {} });
    const call = { timeoutMs: 60_000, signal: undefined, sharingKey: undefined };
    let aborted: unknown;
    const stalled = (signal: AbortSignal) => new Promise<SubgraphAnswer>((_, reject) => signal.addEventListener('abort', () => reject((aborted = signal.reason))));
    const started = performance.now();
    const inFlight = guard.fetch(call, stalled).then(() => 'answered', (error: unknown) => error);
    // The next fetch finds no slot and no progress for queueTimeout: the breaker opens on the stall.
    await expect(guard.fetch(call, never)).rejects.toMatchObject({ reason: 'busy' });
    expect(guard.breakerState).toBe('open');
    const outcome = await Promise.race([inFlight, new Promise((resolve) => setTimeout(resolve, 2_000, 'still waiting'))]);
    expect(outcome).toMatchObject({ reason: 'circuit open' });
    expect(aborted).toBeInstanceOf(Error); // the send saw its signal abort: undici closes the connection
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(guard.inFlight).toBe(0);
  });

  it('a fetch that waited for a slot while the breaker opened fails fast and is never sent', async () => {
    const guard = new SubgraphGuard('reviews', { concurrency: 2, queueTimeoutMs: 1_000, failures: 1, coolDownMs: 60_000, dedup: false, log, onEvent: () => {} });
    const call = { timeoutMs: 60_000, signal: undefined, sharingKey: undefined };
    const stalled = (signal: AbortSignal) => new Promise<SubgraphAnswer>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    let fail!: () => void;
    const failing = () => new Promise<SubgraphAnswer>((resolve) => (fail = () => resolve({ statusCode: 503, text: '' })));
    let sentAfterOpen = 0;
    const first = guard.fetch(call, stalled).catch((error: unknown) => error);
    const second = guard.fetch(call, failing).catch((error: unknown) => error);
    const waiter = guard.fetch(call, () => ((sentAfterOpen += 1), never())).catch((error: unknown) => error);
    await new Promise((resolve) => setImmediate(resolve));
    expect(guard.waiting).toBe(1);
    fail(); // one failure: the breaker opens, the stalled fetch is cut, both slots free up
    expect(await second).toEqual({ statusCode: 503, text: '' }); // an answer, counted as a failure
    expect(await first).toMatchObject({ reason: 'circuit open' });
    expect(await waiter).toMatchObject({ reason: 'circuit open' });
    expect(sentAfterOpen).toBe(0);
    expect(guard.inFlight).toBe(0);
  });
});
