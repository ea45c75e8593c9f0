/**
 * bench/profile-diff.ts: a sample is charged to the innermost frame of a package or of this repository
 * (Node's built-ins count for their caller), GC is a group of its own, idle time and the skipped start are
 * left out, and a nested package counts as itself.
 */
import { describe, expect, it } from 'vitest';
import { charge } from '../../../bench/profile-diff.ts';

const ROOT = new URL('../../../', import.meta.url).href;
const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url, lineNumber: 0 }, children });

// root → listener (gateway) → startSpan (nested @opentelemetry package) → Buffer.toString (node:)
//      → sign (jose) ; (garbage collector) ; (idle)
const profile = {
  nodes: [
    frame(1, '(root)', '', [2, 6, 7]),
    frame(2, 'listener', `${ROOT}gateway/server.ts`, [3, 5]),
    frame(3, 'startSpan', `${ROOT}node_modules/@opentelemetry/exporter-x/node_modules/@opentelemetry/sdk-trace-base/build/Tracer.js`, [4]),
    frame(4, 'toString', 'node:buffer'),
    frame(5, 'sign', `${ROOT}node_modules/jose/dist/sign.js`),
    frame(6, '(garbage collector)', ''),
    frame(7, '(idle)', ''),
  ],
  // Each sample's time is the delta to the next: 10, 20, 30, 40, 50 µs, then 0 for the last.
  samples: [4, 3, 5, 6, 7, 2],
  timeDeltas: [0, 10, 20, 30, 40, 50],
};

describe('profile-diff', () => {
  it('charges built-ins to their caller, nested packages to themselves, and leaves idle time out', () => {
    const charged = charge(profile, 0);
    expect(Object.fromEntries(charged.groups)).toEqual({ 'otel:sdk-trace-base': 30, 'pkg:jose': 30, '(garbage collector)': 40, 'gateway/server.ts': 0 });
    expect(charged.busy).toBe(100);
  });

  it('skips the samples before --from', () => {
    const charged = charge(profile, 25);
    expect(Object.fromEntries(charged.groups)).toEqual({ 'pkg:jose': 30, '(garbage collector)': 40, 'gateway/server.ts': 0 });
  });
});
