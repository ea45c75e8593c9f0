/**
 * What CI tests is what the image runs: the Dockerfile builds with the commands package.json and CI use
 * and starts what `npm run gateway:prod` starts, as a non-root user, with a health check; compose.yaml
 * runs only npm scripts that exist. (Docker is not available where the tests run, so the files are
 * parsed, not built: docs/production.md says what was and was not run.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../../support/stack.ts';

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile instructions by stage, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const [from = '', as, name] = rest;
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${keyword} before FROM`);
      stage.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; engines: { node: string } };
const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const runs = (stage: Stage | undefined) => (stage?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args);
const build = stages.find((s) => s.name === 'build');
const runtime = stages.at(-1);

describe('Dockerfile', () => {
  it('is multi-stage on the Node major CI runs the suite on, one that package.json allows', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    const major = /^IMAGE_NODE_MAJOR=(\d+)$/m.exec(readFileSync(join(ROOT, '.ci/run'), 'utf8'))?.[1];
    expect(major).toBeDefined();
    for (const stage of stages) expect(stage.from).toMatch(new RegExp(`^node:${major}(\\.|-|$)`));
    expect(Number(/\d+/.exec(pkg.engines.node)?.[0])).toBeLessThanOrEqual(Number(major));
  });

  it('builds with `npm ci` and `npm run build`, the scripts CI runs', () => {
    expect(runs(build).some((run) => /^npm ci\b/.test(run))).toBe(true);
    const scripts = runs(build).flatMap((run) => [...run.matchAll(/npm run (\S+)/g)].map((m) => m[1] as string));
    expect(scripts).toEqual(['build']);
    expect(pkg.scripts.build).toBeDefined();
  });

  it('runs what `npm run gateway:prod` runs, as a non-root user, with production dependencies only', () => {
    const cmd = runtime?.instructions.filter((i) => i.keyword === 'CMD').at(-1);
    expect(JSON.parse(cmd?.args ?? 'null')).toEqual(pkg.scripts['gateway:prod']?.split(' '));
    const user = runtime?.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runs(runtime).some((run) => /^npm ci --omit=dev\b/.test(run))).toBe(true);
    const env = runtime?.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
  });

  it('copies the compiled gateway and kit from the build stage', () => {
    const copies = runtime?.instructions.filter((i) => i.keyword === 'COPY' && i.args.startsWith('--from=build')).map((i) => i.args.split(/\s+/)[1]);
    expect(copies).toEqual(expect.arrayContaining(['/app/dist', '/app/subgraphs/kit/dist']));
  });

  it('checks health on /healthz', () => {
    const healthcheck = runtime?.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.args;
    expect(healthcheck).toMatch(/CMD \[.*\/healthz/);
  });

  it('keeps local state out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.dev', '.git']));
  });
});

describe('compose.yaml', () => {
  const compose = parseYaml(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
    services: Record<string, { build?: { context: string; target: string }; command?: string[]; network_mode?: string; volumes?: string[] }>;
  };

  it('runs the gateway image and only npm scripts that package.json has', () => {
    expect(compose.services.gateway?.build).toEqual({ context: '.', target: 'runtime' });
    expect(compose.services.gateway?.command).toBeUndefined(); // the image's own CMD
    const others = Object.entries(compose.services).filter(([name]) => name !== 'gateway');
    expect(others.map(([name]) => name).sort()).toEqual(['accounts', 'issuer', 'products', 'reviews']);
    for (const [, service] of others) {
      const [npm, run, script] = service.command ?? [];
      expect([npm, run]).toEqual(['npm', 'run']);
      expect(Object.keys(pkg.scripts)).toContain(script);
      expect(stages.map((s) => s.name)).toContain(service.build?.target);
    }
  });

  it('mounts the gateway.yaml that exists', () => {
    const mount = compose.services.gateway?.volumes?.[0]?.split(':')[0] as string;
    expect(existsSync(join(ROOT, mount))).toBe(true);
  });
});
