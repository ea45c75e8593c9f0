/**
 * The circuit breaker's rule (docs/overload.md): N consecutive failures open it, it fails fast for the
 * cool-down, then lets exactly one probe through; the probe decides. Time is a frozen clock.
 */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerPass } from '../../../gateway/subgraph/breaker.ts';
import type { BreakerState } from '../../../gateway/overload-events.ts';

function breaker(failures = 3, coolDownMs = 1_000) {
  let now = 0;
  const changes: BreakerState[] = [];
  const b = new CircuitBreaker({ failures, coolDownMs, now: () => now, onStateChange: (state) => void changes.push(state) });
  return { b, changes, advance: (ms: number) => void (now += ms) };
}

const pass = (b: CircuitBreaker): BreakerPass => {
  const p = b.tryPass();
  if (!p) throw new Error('expected a pass');
  return p;
};

describe('circuit breaker', () => {
  it('opens after N consecutive failures, not N failures with a success between', () => {
    const { b, changes } = breaker(3);
    pass(b).failed();
    pass(b).failed();
    pass(b).succeeded(); // resets the count
    pass(b).failed();
    pass(b).failed();
    expect(b.state).toBe('closed');
    pass(b).failed();
    expect(b.state).toBe('open');
    expect(changes).toEqual(['open']);
    expect(b.tryPass()).toBeUndefined();
  });

  it('fails fast for the cool-down, then lets exactly one probe through', () => {
    const { b, changes, advance } = breaker(1, 1_000);
    pass(b).failed();
    advance(999);
    expect(b.tryPass()).toBeUndefined();
    advance(1);
    const probe = pass(b);
    expect(b.state).toBe('half-open');
    expect(b.tryPass()).toBeUndefined(); // the probe is out: everyone else still fails fast
    probe.succeeded();
    expect(b.state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
    expect(b.tryPass()).toBeDefined();
  });

  it('a failed probe opens it for another full cool-down', () => {
    const { b, changes, advance } = breaker(1, 1_000);
    pass(b).failed();
    advance(1_000);
    pass(b).failed();
    expect(b.state).toBe('open');
    advance(999);
    expect(b.tryPass()).toBeUndefined();
    advance(1);
    expect(b.tryPass()).toBeDefined();
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open']);
  });

  it('an abandoned probe (its caller left) lets the next fetch probe', () => {
    const { b, advance } = breaker(1, 1_000);
    pass(b).failed();
    advance(1_000);
    pass(b).abandoned();
    expect(b.state).toBe('half-open');
    pass(b).succeeded();
    expect(b.state).toBe('closed');
  });

  it('abandoned fetches are not failures', () => {
    const { b } = breaker(2);
    for (let i = 0; i < 10; i++) pass(b).abandoned();
    pass(b).failed();
    expect(b.state).toBe('closed');
  });

  it('ignores outcomes of fetches let through before the last change of state', () => {
    const { b, advance } = breaker(1, 1_000);
    const early = pass(b);
    const late = pass(b);
    early.failed(); // opens
    late.succeeded(); // a success from before the opening does not close it
    expect(b.state).toBe('open');
    advance(1_000);
    const probe = pass(b);
    late.failed(); // reported twice: ignored
    expect(b.state).toBe('half-open');
    probe.succeeded();
    expect(b.state).toBe('closed');
  });

  it('failures: 0 never opens', () => {
    const { b } = breaker(0);
    for (let i = 0; i < 100; i++) pass(b).failed();
    expect(b.state).toBe('closed');
  });
});
