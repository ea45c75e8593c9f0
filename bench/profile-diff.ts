/**
 * `npm run bench:profile-diff -- a.cpuprofile b.cpuprofile`: where one gateway process spends more CPU per
 * request than another, from two V8 CPU profiles (`npm run bench` with BENCH_PROFILE=<dir>; docs/performance.md
 * "Observability", eighth pass).
 *
 * Each sample is charged to the innermost frame that belongs to a package or to this repository, so Node's
 * built-ins count for whoever called them; GC and `(program)` are groups of their own, idle time is left
 * out. Groups: a package (`pkg:undici`; `otel:<name>` for @opentelemetry's), or a file of this repository
 * (`gateway/observability/tracing.ts`).
 *
 * The profiles hold no request count, so one group stands for it (`--per`, default `pkg:jose`: signing one
 * identity token per subgraph fetch, the same work in any configuration of the same query). Its time in b
 * over its time in a is taken as b's requests over a's, and every group's difference is shown as a share of
 * a's main-thread CPU per request. Calibrate with an A/A pair (BENCH_OBSERVED=none): on this machine the
 * whole differed by ~4 %, GC by ~1 %, any other group by 0.5 % or less.
 *
 * Options: `--from <s>` skips the first seconds of each profile (start-up, compilation; default 40),
 * `--top <n>` groups shown (default 30), `--functions <text>` also lists b's functions whose group contains
 * the text.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Charged {
  /** Busy time in µs, idle left out. */
  busy: number;
  groups: Map<string, number>;
  functions: Map<string, number>;
}

const ROOT = new URL('..', import.meta.url).pathname;

/** A frame's group, or undefined for Node's own code (charged to the caller). */
function groupOf(url: string): string | undefined {
  if (!url || url.startsWith('node:')) return undefined;
  // The innermost package of a nested node_modules path is the one whose code runs.
  const name = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].pop()?.[1];
  if (name) return name.startsWith('@opentelemetry/') ? `otel:${name.slice('@opentelemetry/'.length)}` : `pkg:${name}`;
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

export function charge(profile: Profile, fromUs: number): Charged {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const owner = new Map<number, { group: string; fn: string | undefined }>();
  const ownerOf = (id: number): { group: string; fn: string | undefined } => {
    const known = owner.get(id);
    if (known) return known;
    const node = byId.get(id) as ProfileNode;
    const { functionName, url, lineNumber } = node.callFrame;
    let found: { group: string; fn: string | undefined };
    if (functionName === '(garbage collector)' || functionName === '(program)') found = { group: functionName, fn: undefined };
    else {
      const group = groupOf(url);
      const up = parent.get(id);
      if (group) found = { group, fn: `${functionName || '(anonymous)'} ${group}:${lineNumber + 1}` };
      else found = up === undefined ? { group: '(node)', fn: undefined } : ownerOf(up);
    }
    owner.set(id, found);
    return found;
  };

  const charged: Charged = { busy: 0, groups: new Map(), functions: new Map() };
  let clock = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    clock += profile.timeDeltas[i] ?? 0;
    const id = profile.samples[i] as number;
    const node = byId.get(id) as ProfileNode;
    // A sample's time is the delta to the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (clock < fromUs || node.callFrame.functionName === '(idle)') continue;
    charged.busy += us;
    const { group, fn } = ownerOf(id);
    charged.groups.set(group, (charged.groups.get(group) ?? 0) + us);
    if (fn) charged.functions.set(fn, (charged.functions.get(fn) ?? 0) + us);
  }
  return charged;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { from: { type: 'string', default: '40' }, per: { type: 'string', default: 'pkg:jose' }, top: { type: 'string', default: '30' }, functions: { type: 'string' } },
  });
  const [fileA, fileB] = positionals;
  if (!fileA || !fileB) throw new Error('usage: npm run bench:profile-diff -- a.cpuprofile b.cpuprofile [--from s] [--per group] [--top n] [--functions text]');
  const fromUs = Number(values.from) * 1e6;
  const [a, b] = [fileA, fileB].map((file) => charge(JSON.parse(readFileSync(file, 'utf8')) as Profile, fromUs)) as [Charged, Charged];
  const perA = a.groups.get(values.per) ?? 0;
  const perB = b.groups.get(values.per) ?? 0;
  if (perA === 0 || perB === 0) throw new Error(`no time in ${values.per} in one of the profiles: pick another --per group`);
  const k = perB / perA;
  const base = k * a.busy;
  const out = process.stdout;
  out.write(`busy: a ${(a.busy / 1e6).toFixed(1)} s, b ${(b.busy / 1e6).toFixed(1)} s; b's requests / a's (by ${values.per}) ${k.toFixed(3)}\n`);
  out.write(`b / a, main-thread CPU per request: ${(b.busy / base).toFixed(3)} ×\n\n`);
  out.write(`${'b − a'.padStart(8)}  ${'a'.padStart(7)}  group (% of a's CPU per request)\n`);
  const groups = new Set([...a.groups.keys(), ...b.groups.keys()]);
  const rows = [...groups].map((group) => ({ group, a: (k * (a.groups.get(group) ?? 0)) / base, delta: ((b.groups.get(group) ?? 0) - k * (a.groups.get(group) ?? 0)) / base }));
  rows.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta));
  for (const row of rows.slice(0, Number(values.top))) out.write(`${(row.delta * 100).toFixed(2).padStart(7)}%  ${(row.a * 100).toFixed(2).padStart(6)}%  ${row.group}\n`);
  if (values.functions) {
    out.write(`\nb's functions in groups matching "${values.functions}" (% of b's busy time):\n`);
    const fns = [...b.functions].filter(([fn]) => fn.includes(values.functions as string)).sort((x, y) => y[1] - x[1]);
    for (const [fn, us] of fns.slice(0, Number(values.top))) out.write(`${((us / b.busy) * 100).toFixed(2).padStart(7)}%  ${fn}\n`);
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) main();
