/** `npm run gateway -- check`: the real CLI, spawned as an operator would run it. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROOT, SUPERGRAPH } from '../../support/stack.ts';
import { TSX_NODE_ARGS } from '../../../dev/node-args.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'frontdesk-check-'));
const KEY_MATERIAL = 'PRIVATE-KEY-MATERIAL-d41d8cd98f00';
writeFileSync(join(dir, 'identity.json'), JSON.stringify({ kty: 'OKP', crv: 'Ed25519', d: KEY_MATERIAL, x: 'x', kid: 'k1' }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function check(yaml: string, args: string[] = [], env: Record<string, string> = {}): Promise<Outcome> {
  const file = join(dir, `gateway-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  const argv = [...TSX_NODE_ARGS, 'gateway/main.ts', 'check', '--config', file, ...args];
  const options = { cwd: ROOT, env: { ...process.env, NODE_ENV: '', ...env } };
  return run(process.execPath, argv, options).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: Outcome) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

const VALID = `supergraph: ${SUPERGRAPH}
listen:
  port: \${CHECK_PORT:-4100}
subgraphDefaults: { timeout: 3s }
identity:
  issuer: https://gw.example
  keys: [{ file: identity.json }]
`;

describe('gateway check', () => {
  it('prints the effective config as YAML, with defaults and key file paths but never key contents, and exits 0', async () => {
    const { code, stdout, stderr } = await check(VALID, [], { CHECK_PORT: '4200' });
    expect(code).toBe(0);
    expect(stderr).toMatch(/is valid\n$/);
    const shown = parseYaml(stdout) as Record<string, Record<string, unknown>>;
    expect(shown.listen).toEqual({ host: '127.0.0.1', port: 4200 });
    expect(shown.subgraphDefaults).toEqual({
      timeout: '3s',
      queueTimeout: '250ms',
      breaker: { failures: 5, coolDown: '5s' },
      dedup: true,
      maxConnections: 64,
      keepAliveTimeout: '30s',
      maxResponseBytes: 33_554_432,
    });
    expect(shown.server).toEqual({ keepAliveTimeout: '65s', requestTimeout: '60s', headersTimeout: '10s', bodyTimeout: '10s', deadline: '30s', maxHeaderBytes: 16_384 });
    // Derived from the machine, so not shown as a value; the rest of the section is.
    expect(shown.admission).toEqual({ queueTimeout: '1s', standingQueueTimeout: '10ms', eventLoopDelayTarget: '20ms', latencyTolerance: 2, retryAfter: '1s' });
    expect(shown.identity?.keys).toEqual([{ file: join(dir, 'identity.json') }]);
    expect(stdout).not.toContain(KEY_MATERIAL);
  }, 30_000);

  it('prints JSON with --format json', async () => {
    const { code, stdout } = await check(VALID, ['--format', 'json']);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { listen: unknown }).listen).toEqual({ host: '127.0.0.1', port: 4100 });
  }, 30_000);

  it('exits 1 and prints every problem, including the production rule for key sets', async () => {
    const yaml = `supergraph: ${SUPERGRAPH}
server: { requestTimout: 30s }
auth:
  jwt: [{ issuer: https://idp.example, jwks: http://idp.example/jwks, audience: [api] }]
identity: { issuer: https://gw.example, keys: [{ file: identity.json }], ttl: 1h }
`;
    const { code, stdout, stderr } = await check(yaml, [], { NODE_ENV: 'production' });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const problems = stderr.split('\n').filter((line) => line.startsWith('  - '));
    expect(problems).toEqual([
      '  - server.requestTimout: unknown key (did you mean "requestTimeout"?); allowed: keepAliveTimeout, requestTimeout, headersTimeout, bodyTimeout, deadline, maxHeaderBytes',
      '  - identity.ttl: at most 10m, got string "1h"; identity tokens are per request and should live seconds',
      '  - auth.jwt[0].jwks: http://idp.example/jwks is plain http; key sets must be fetched over https when NODE_ENV=production (loopback hosts excepted): use an https URL or a file',
    ]);
  }, 30_000);
});
