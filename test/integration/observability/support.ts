/**
 * A gateway of its own over the stack's subgraphs, built from config the way `gateway/main.ts` builds it
 * (its own authenticator, so the key-set hooks are the real ones), with its log lines captured; and a
 * Prometheus text-format reader for scraping.
 */
import { join } from 'node:path';
import { parseConfig } from '../../../gateway/config/load.ts';
import { createLogger } from '../../../gateway/log.ts';
import { startGateway, type RunningGateway } from '../../../gateway/server.ts';
import { ROOT, SUPERGRAPH, type LogEntry, type Stack } from '../../support/stack.ts';

export interface ObservedGateway {
  gateway: RunningGateway;
  logs: LogEntry[];
  /** Raw log lines as written (for checking that no secret reaches them). */
  lines: string[];
  query(body: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }>;
}

export async function startObservedGateway(stack: Stack, config: Record<string, unknown>): Promise<ObservedGateway> {
  const logs: LogEntry[] = [];
  const lines: string[] = [];
  const parsed = parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      supergraph: SUPERGRAPH,
      subgraphs: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, subgraph]) => [name, { url: subgraph.url }])),
      identity: { issuer: stack.identityIssuer, keys: [{ file: stack.identityKeyFile }] },
      logLevel: 'debug',
      shutdownGrace: '2s',
      ...config,
    },
    { env: {}, source: join(ROOT, 'gateway.test.yaml') },
  );
  const log = createLogger({
    level: 'debug',
    write: (line) => {
      lines.push(line);
      logs.push(JSON.parse(line) as LogEntry);
    },
  });
  const gateway = await startGateway(parsed, { log, supergraphPollMs: 100 });
  return {
    gateway,
    logs,
    lines,
    async query(body, headers = {}) {
      const response = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
    },
  };
}

/** Samples of a Prometheus text exposition: `name{labels}` → value (labels sorted by name). */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = match[2] ? [...match[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort().join(',') : '';
    samples.set(labels ? `${match[1]}{${labels}}` : (match[1] as string), Number(match[3]));
  }
  return samples;
}

/** The value of `name` with exactly these labels, or 0 when absent. */
export function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const key = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  return samples.get(key ? `${name}{${key}}` : name) ?? 0;
}
