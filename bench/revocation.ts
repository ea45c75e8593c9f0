/**
 * `npm run bench:revocation`: how long a revocation takes to reach the fleet (docs/fleet.md "Revocation";
 * issue 15 item 3 asks for p50/p99 over 100 revocations). One redis-server, two gateway processes
 * (`gateway/main.ts`, as production runs them) sharing it. For each of BENCH_REVOCATIONS (default 100)
 * tokens, already used once on B (so B holds a cached verification): revoke its `jti` through A's admin
 * endpoint, then ask B every millisecond until it answers 401. The time from sending the revocation to
 * B's first 401 is the figure (it includes A's handling, the Redis write and publish, B's receipt, and
 * up to one poll interval). Prints JSON and writes bench/results/revocation.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { stringify as toYaml } from 'yaml';
import { TSX_NODE_ARGS } from '../dev/node-args.ts';
import { generateDevKey } from '../gateway/identity/keys.ts';
import { createLogger } from '../gateway/log.ts';
import { startRedis } from '../test/support/redis.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COUNT = Number(process.env.BENCH_REVOCATIONS ?? 100);
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef0123';
const ISSUER = 'https://idp.bench';
const AUDIENCE = 'https://api.bench/';
const QUERY = JSON.stringify({ query: '{ __typename }' });

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-bench-revocation-'));
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const { d: _d, ...publicJwk } = await exportJWK(privateKey);
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...publicJwk, kid: 'bench', alg: 'ES256' }] }));
  await generateDevKey(join(dir, 'identity.json'), createLogger({ level: 'silent' }));
  const redis = await startRedis();
  writeFileSync(
    join(dir, 'gateway.yaml'),
    toYaml({
      listen: { host: '127.0.0.1', port: 0 },
      supergraph: join(ROOT, 'schema/supergraph.graphql'),
      auth: { anonymous: false, jwt: [{ issuer: ISSUER, jwks: join(dir, 'jwks.json'), audience: [AUDIENCE], principalNamespace: 'bench' }] },
      identity: { issuer: 'https://gateway.bench', keys: [{ file: join(dir, 'identity.json') }] },
      metrics: { listen: { port: 0 } },
      admin: { token: ADMIN_TOKEN },
      store: { redis: { url: redis.url } },
      logLevel: 'warn',
      shutdownDelay: '0s',
    }),
  );
  const children: ChildProcess[] = [];
  try {
    const [a, b] = await Promise.all([gateway(dir, children), gateway(dir, children)]);
    const stamp = Date.now();
    const jtis = Array.from({ length: COUNT }, (_, i) => `bench-${stamp}-${i}`);
    const tokens = await Promise.all(
      jtis.map((jti, i) =>
        new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(`u${i}`).setJti(jti).setIssuedAt().setExpirationTime('10m').sign(privateKey),
      ),
    );
    // Each token used once on B first: B holds a cached verification of it when it is revoked.
    for (const token of tokens) if ((await ask(b.url, token)) !== 200) throw new Error('a fresh token was refused by B');
    const adminUrl = a.metrics.replace(/\/metrics$/, '/admin/revocations');
    const millis: number[] = [];
    for (const [i, token] of tokens.entries()) {
      const started = performance.now();
      const revoked = fetch(adminUrl, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'jti', id: jtis[i] }) });
      millis.push(await untilRefused(b.url, token, started));
      const answer = await revoked;
      if (answer.status !== 200 || !((await answer.json()) as { shared?: boolean }).shared) throw new Error('A did not share the revocation through Redis');
    }
    millis.sort((x, y) => x - y);
    // Nearest rank: p99 of 100 samples is the 99th smallest.
    const q = (p: number) => Math.round(millis[Math.max(0, Math.ceil(p * millis.length) - 1)]! * 10) / 10;
    const result = { date: new Date().toISOString(), revocations: COUNT, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: q(1), minMs: Math.round(millis[0]! * 10) / 10, loadAverage: loadavg().map((value) => Math.round(value * 100) / 100) };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results/revocation.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await redis.stop();
  }
}

async function ask(url: string, token: string): Promise<number> {
  const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: QUERY });
  await response.arrayBuffer();
  return response.status;
}

/** Polls B every millisecond until it refuses `token`; the elapsed time since `started`. */
async function untilRefused(url: string, token: string, started: number): Promise<number> {
  for (;;) {
    if ((await ask(url, token)) === 401) return performance.now() - started;
    if (performance.now() - started > 10_000) throw new Error('B did not refuse a revoked token within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A gateway process on the config; resolves with its URLs from its ready line. */
function gateway(dir: string, children: ChildProcess[]): Promise<{ url: string; metrics: string }> {
  const child = spawn(process.execPath, [...TSX_NODE_ARGS, join(ROOT, 'gateway/main.ts'), '--config', join(dir, 'gateway.yaml')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway did not start within 30 s')), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const ready = JSON.parse(line) as { msg?: string; url?: string; metrics?: string };
        if (ready.msg === 'gateway listening' && ready.url && ready.metrics) {
          clearTimeout(timer);
          resolve({ url: ready.url, metrics: ready.metrics });
        }
      } catch {
        // not a JSON line
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
}

await main();
