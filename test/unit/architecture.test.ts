/**
 * The tree is the architecture (docs/architecture.md): outside the kit, code reaches the kit only through
 * its package door; the gateway and the subgraphs never import each other; files stay small or say why.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const kitPackage = JSON.parse(readFileSync(join(ROOT, 'subgraphs/kit/package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Module specifiers of a file's static and dynamic imports and re-exports. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2]) as string);
}

describe('imports follow the rooms', () => {
  it.each(['gateway', 'subgraphs/shop', 'dev', 'scripts', 'bench'])('%s reaches the kit only through @frontdesk/kit and its named shared modules', (dir) => {
    const doors = new Set(Object.keys(kitPackage.exports).map((entry) => (entry === '.' ? kitPackage.name : `${kitPackage.name}/${entry.slice(2)}`)));
    const offending: string[] = [];
    for (const file of sources(dir)) {
      for (const specifier of importsOf(file)) {
        const intoKit = specifier.startsWith('.') && relative(ROOT, join(ROOT, file, '..', specifier)).startsWith('subgraphs/kit/');
        const throughDoor = specifier.startsWith(kitPackage.name) && doors.has(specifier);
        if (intoKit || (specifier.startsWith(kitPackage.name) && !throughDoor)) offending.push(`${file} imports ${specifier}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('the gateway imports no subgraph code and the subgraphs import nothing of the gateway', () => {
    const offending: string[] = [];
    for (const [dir, forbidden] of [['gateway', 'subgraphs/'], ['subgraphs', 'gateway/']] as const) {
      for (const file of sources(dir)) {
        for (const specifier of importsOf(file)) {
          if (specifier.startsWith('.') && relative(ROOT, join(ROOT, file, '..', specifier)).startsWith(forbidden)) offending.push(`${file} imports ${specifier}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('the kit imports nothing outside itself but its declared peer dependencies and node builtins', () => {
    const peers = Object.keys((JSON.parse(readFileSync(join(ROOT, 'subgraphs/kit/package.json'), 'utf8')) as { peerDependencies: Record<string, string> }).peerDependencies);
    const offending: string[] = [];
    for (const file of sources('subgraphs/kit')) {
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('node:')) continue;
        if (specifier.startsWith('.')) {
          if (!relative(ROOT, join(ROOT, file, '..', specifier)).startsWith('subgraphs/kit/')) offending.push(`${file} imports ${specifier}`);
        } else if (!peers.some((peer) => specifier === peer || specifier.startsWith(`${peer}/`))) offending.push(`${file} imports ${specifier}`);
      }
    }
    expect(offending).toEqual([]);
  });
});

describe('files stay small', () => {
  it('no source file of gateway/ or the kit is over 250 lines unless its header says why', () => {
    const long = [...sources('gateway'), ...sources('subgraphs/kit')].filter((file) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      return text.split('\n').length > 250 && !/^\/\*\*[\s\S]*?Longer than 250 lines because/.test(text);
    });
    expect(long).toEqual([]);
  });
});
