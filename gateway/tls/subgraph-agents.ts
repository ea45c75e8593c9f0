/**
 * The pooled undici Agents that carry subgraph fetches. One shared Agent for every subgraph using
 * `subgraphDefaults.tls` (or plain http), and one per subgraph with a `tls` of its own, since the CA and
 * the client certificate the gateway presents are connection options of an Agent. Files are read at boot;
 * one that cannot be read stops the gateway from starting.
 */
import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';
import type { GatewayConfig, SubgraphTlsConfig } from '../config/types.ts';
import { StartupError } from '../errors.ts';

export interface SubgraphAgents {
  /** The dispatcher for the subgraph of this name. */
  for(name: string): Dispatcher;
  close(): Promise<void>;
}

export function createSubgraphAgents(config: Pick<GatewayConfig, 'subgraphDefaults' | 'subgraphs'>): SubgraphAgents {
  const { subgraphDefaults } = config;
  const agent = (tls: SubgraphTlsConfig | undefined, at: string) =>
    new Agent({
      keepAliveTimeout: subgraphDefaults.keepAliveTimeoutMs,
      connections: subgraphDefaults.maxConnections,
      // maxResponseSize bounds every subgraph response, chunked ones included.
      maxResponseSize: subgraphDefaults.maxResponseBytes,
      ...(tls ? { connect: connectOptions(tls, at) } : {}),
    });
  const shared = agent(subgraphDefaults.tls, 'subgraphDefaults.tls');
  const own = new Map<string, Agent>();
  for (const [name, override] of Object.entries(config.subgraphs)) {
    if (override.tls) own.set(name, agent(override.tls, `subgraphs.${name}.tls`));
  }
  return {
    for: (name) => own.get(name) ?? shared,
    close: async () => void (await Promise.all([shared, ...own.values()].map((each) => each.close()))),
  };
}

function connectOptions(tls: SubgraphTlsConfig, at: string): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (path: string | undefined, key: string) => {
    if (path === undefined) return {};
    try {
      return { [key]: readFileSync(path) };
    } catch (error) {
      throw new StartupError('CONFIG_INVALID', `${at}.${key}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  return { ...read(tls.ca, 'ca'), ...read(tls.cert, 'cert'), ...read(tls.key, 'key') };
}
