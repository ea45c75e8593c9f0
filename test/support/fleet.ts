/**
 * A fleet for tests: several gateway instances (each a stack of its own, port 0) sharing one test Redis
 * (./redis.ts), each with a metrics listener and the admin endpoint (`admin.token`), and helpers to
 * revoke through an instance's admin endpoint and to wait until an instance refuses something.
 */
import { startStack, type Stack, type StackOptions } from './stack.ts';

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789abcdef';

/** One instance of the fleet: `store.redis` (when given), metrics on port 0 and the admin endpoint. */
export function startInstance(redisUrl: string | undefined, options: StackOptions = {}): Promise<Stack> {
  return startStack({
    ...options,
    config: {
      metrics: { listen: { port: 0 } },
      admin: { token: ADMIN_TOKEN },
      ...(redisUrl ? { store: { redis: { url: redisUrl, keyPrefix: 'fleet-test:', timeout: '250ms', connectTimeout: '1s' } } } : {}),
      ...options.config,
    },
  });
}

export const adminUrl = (stack: Stack): string => stack.gateway.metricsUrl!.replace(/\/metrics$/, '/admin/revocations');

/** POST /admin/revocations on this instance's metrics listener. */
export async function revokeVia(stack: Stack, kind: string, id: string, token = ADMIN_TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(adminUrl(stack), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind, id }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Polls `probe` every 5 ms until it is true; returns the milliseconds it took (throws past `timeoutMs`). */
export async function millisUntil(probe: () => Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A gauge or counter's value from an instance's /metrics (0 when absent). */
export async function metricValue(stack: Stack, line: string): Promise<number> {
  const text = await (await fetch(stack.gateway.metricsUrl!)).text();
  const found = text.split('\n').find((entry) => entry.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}
