/**
 * The supergraph, served from a file and reloaded when the file changes. A new supergraph that does not
 * parse, whose authorization rules cannot be read, or that Apollo Gateway refuses leaves the current one
 * serving, and the log says why.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { Kind, parse, type EnumTypeDefinitionNode } from 'graphql';
import { readAuthorizationRules } from './authz/index.ts';
import type { Logger } from './log.ts';

/** Subgraph names and routing URLs declared by a supergraph (its join__Graph enum). */
export function supergraphSubgraphs(sdl: string): Map<string, string> {
  const document = parse(sdl, { noLocation: true });
  const graphs = new Map<string, string>();
  const joinGraph = document.definitions.find(
    (definition): definition is EnumTypeDefinitionNode => definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph',
  );
  for (const value of joinGraph?.values ?? []) {
    const directive = value.directives?.find((d) => d.name.value === 'join__graph');
    const arg = (name: string) => {
      const node = directive?.arguments?.find((a) => a.name.value === name)?.value;
      return node?.kind === Kind.STRING ? node.value : undefined;
    };
    const name = arg('name');
    if (name) graphs.set(name, arg('url') ?? '');
  }
  return graphs;
}

export interface SupergraphFile {
  /** Apollo Gateway's `supergraphSdl` hook. */
  hook: SupergraphSdlHook;
  /** The SDL read at boot. */
  initial: string;
}

/**
 * @param pollMs how often the file's mtime is checked. fs.watchFile (stat polling) is used over fs.watch
 *   because editors and `git checkout` replace files by rename, which fs.watch loses on some platforms.
 */
export function supergraphFromFile(path: string, log: Logger, pollMs = 1_000): SupergraphFile {
  const initial = readFileSync(path, 'utf8');
  const hook: SupergraphSdlHook = async ({ update }) => {
    let current = initial;
    const onChange = () => {
      let next: string;
      try {
        next = readFileSync(path, 'utf8');
      } catch (error) {
        log.error('supergraph file unreadable; keeping the current supergraph', { path, error });
        return;
      }
      if (next === current) return;
      try {
        // A supergraph whose authorization rules the gateway cannot read is refused like one that does not parse.
        readAuthorizationRules(parse(next, { noLocation: true }));
        update(next);
        current = next;
        log.info('supergraph reloaded', { path });
      } catch (error) {
        log.error('new supergraph refused; keeping the current supergraph', { path, error });
      }
    };
    watchFile(path, { interval: pollMs, persistent: false }, onChange);
    return {
      supergraphSdl: initial,
      cleanup: async () => unwatchFile(path, onChange),
    };
  };
  return { hook, initial };
}
