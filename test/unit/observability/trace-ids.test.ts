/**
 * gateway/observability/trace-ids.ts: W3C trace and span ids (lowercase hex, 32 and 16 digits, never all
 * zeros), drawn afresh each time.
 */
import { describe, expect, it } from 'vitest';
import { RequestIds } from '../../../gateway/observability/trace-ids.ts';

describe('request ids', () => {
  it('are W3C trace and span ids, all different, across many refills of the pool', () => {
    const ids = new RequestIds();
    const traceIds = Array.from({ length: 1_000 }, () => ids.generateTraceId());
    const spanIds = Array.from({ length: 1_000 }, () => ids.generateSpanId());
    for (const id of traceIds) expect(id).toMatch(/^[\da-f]{32}$/);
    for (const id of spanIds) expect(id).toMatch(/^[\da-f]{16}$/);
    expect(new Set([...traceIds, ...spanIds]).size).toBe(2_000);
  });

  it('an id of all zeros is never given: it is drawn again', () => {
    // A pool whose first refill is all zeros, the next one random.
    let refills = 0;
    const ids = new RequestIds((bytes) => {
      bytes.fill(refills++ === 0 ? 0 : 0xab);
    });
    const first = ids.generateTraceId();
    expect(first).toBe('ab'.repeat(16));
    expect(refills).toBe(2);
    expect(ids.generateSpanId()).toBe('ab'.repeat(8));
  });
});
