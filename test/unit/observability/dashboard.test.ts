/**
 * docs/grafana-dashboard.json and docs/production.md stay in step with what the gateway registers: every
 * metric a panel queries exists, every frontdesk metric has a panel and a row in the docs, and every label
 * a panel groups by is one the metric has.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../gateway/observability/metrics.ts';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const dashboard = JSON.parse(read('docs/grafana-dashboard.json')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));

describe('the Grafana dashboard', async () => {
  const { registry } = createMetrics({ issuers: [] });
  const registered = await registry.getMetricsAsJSON();
  const labelsOf = (name: string) => (registry.getSingleMetric(name) as unknown as { labelNames: readonly string[] }).labelNames;

  it('queries only metrics the gateway registers', () => {
    const queried = new Set(exprs.flatMap((expr) => [...expr.matchAll(/\b((?:frontdesk|process|nodejs)_\w+?)(?:_bucket|_count|_sum)?\{/g)].map((m) => m[1] as string)));
    expect(queried.size).toBeGreaterThan(5);
    for (const name of queried) expect(registered.map((m) => m.name), `${name} is not registered`).toContain(name);
  });

  it('shows every frontdesk metric, and docs/production.md documents each', () => {
    const production = read('docs/production.md');
    for (const { name } of registered.filter((m) => m.name.startsWith('frontdesk_'))) {
      expect(exprs.some((expr) => expr.includes(name)), `no panel for ${name}`).toBe(true);
      expect(production).toContain(`\`${name}\``);
    }
  });

  it('groups only by labels the metrics have (or Prometheus adds)', () => {
    for (const expr of exprs) {
      const name = /\b(frontdesk_\w+?)(?:_bucket|_count|_sum)?\{/.exec(expr)?.[1];
      if (!name) continue;
      const known = labelsOf(name);
      for (const [, group] of expr.matchAll(/by \(([^)]*)\)/g)) {
        for (const label of (group as string).split(',').map((l) => l.trim())) {
          if (label === 'le' || label === 'job' || label === 'instance') continue;
          expect([...known], `${expr} groups by ${label}`).toContain(label);
        }
      }
    }
  });
});
