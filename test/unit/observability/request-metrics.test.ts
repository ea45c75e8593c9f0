/**
 * gateway/observability/request-metrics.ts: what a scrape shows of the hand-kept per-request metrics is
 * exactly what prom-client's own Counter and Histogram show for the same updates (names, label order,
 * buckets, `_sum`, `_count`), in both the text and the JSON form.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LabelledCounter, LabelledHistogram } from '../../../gateway/observability/request-metrics.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('per-request metrics', () => {
  it('a counter scrapes as prom-client’s', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const options = { name: 'test_requests_total', help: 'Requests', labelNames: ['route', 'status_class', 'outcome'] as const };
    const counter = new LabelledCounter({ ...options, registers: [ours] });
    const reference = new Counter({ ...options, registers: [theirs] });
    const updates: Array<[string, string, string]> = [['graphql', '2xx', 'ok'], ['graphql', '4xx', 'refused'], ['healthz', '2xx', 'ok'], ['graphql', '2xx', 'ok'], ['graphql', '2xx', 'ok'], ['graphql', '2xx', 'partial']];
    for (const [route, status_class, outcome] of updates) {
      counter.inc(route, status_class, outcome);
      reference.inc({ route, status_class, outcome });
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    // The same label set twice in a row (the last-used cell), and again after others.
    expect(await ours.metrics()).toContain('test_requests_total{route="graphql",status_class="2xx",outcome="ok"} 3');
  });

  it('a histogram scrapes as prom-client’s: cumulative buckets, +Inf, sum and count per label set', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const options = { name: 'test_fetch_duration_seconds', help: 'Fetches', labelNames: ['subgraph', 'result'] as const, buckets: BUCKETS };
    const histogram = new LabelledHistogram({ ...options, registers: [ours] });
    const reference = new Histogram({ ...options, registers: [theirs] });
    // On a bound, between bounds, below the first, above the last.
    const updates: Array<[number, string, string]> = [[0.001, 'products', 'ok'], [0.05, 'products', 'ok'], [0.0001, 'reviews', 'ok'], [7, 'products', 'unavailable'], [0.1, 'products', 'ok']];
    for (const [seconds, subgraph, result] of updates) {
      histogram.observe(seconds, subgraph, result);
      reference.observe({ subgraph, result }, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('test_fetch_duration_seconds_bucket{le="0.1",subgraph="products",result="ok"} 3');
    expect(await ours.metrics()).toContain('test_fetch_duration_seconds_count{subgraph="products",result="unavailable"} 1');
  });

  it('one label: the unused slots are never exposed; resetMetrics empties it', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const histogram = new LabelledHistogram({ name: 'test_op_seconds', help: 'Ops', labelNames: ['operation_type'], buckets: BUCKETS, registers: [ours] });
    const reference = new Histogram({ name: 'test_op_seconds', help: 'Ops', labelNames: ['operation_type'], buckets: BUCKETS, registers: [theirs] });
    histogram.observe(0.02, 'query');
    reference.observe({ operation_type: 'query' }, 0.02);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('test_op_seconds_count');
    // The label set last updated before the reset starts from zero again.
    histogram.observe(0.5, 'query');
    expect(await ours.metrics()).toContain('test_op_seconds_count{operation_type="query"} 1');
  });
});
