/**
 * The gateway as production runs it, for the benches that measure it: `node dist/gateway/main.js` (the
 * image's command, Dockerfile), built here first with the README's `npm run build`.
 *
 * Not under tsx, as development runs it (dev/node-args.ts): tsx compiles with esbuild's `keepNames`,
 * which wraps every function and closure the gateway makes in a `__name` call, an
 * `Object.defineProperty` on each closure as it is created, at the request rate. A profile put that at
 * ~1 % of frontdesk's CPU per request, and higher in code that makes more closures (docs/performance.md
 * "Observability", ninth pass): a cost production never pays, and one that differs between the
 * configurations a bench compares.
 */
import { execFileSync } from 'node:child_process';

/** The built gateway's entry point, relative to a checkout's root. */
export const GATEWAY_MAIN = 'dist/gateway/main.js';

/** `npm run build` in a checkout (the gateway and the kit it imports), so GATEWAY_MAIN is the code of that tree. */
export function buildGateway(root: string): void {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Whether a node child runs the built gateway, which needs no tsx (a flag's value may come before it: `--cpu-prof-interval 250`). */
export function isBuilt(args: readonly string[]): boolean {
  return args.includes(GATEWAY_MAIN);
}
