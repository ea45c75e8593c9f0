/**
 * The independent Python verifier (conformance/python/) against the same vectors as the kit: "verify it
 * in any language" is a test. Needs python3 with jwcrypto (Debian: apt-get install python3 python3-jwcrypto);
 * skipped where they are missing, except in CI (CI set), where their absence fails the suite.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCommittedVectors } from '../../conformance/generate.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/**
 * FRONTDESK_PYTHON when set; otherwise `python3` on PATH, then Debian's own interpreter (where apt installs
 * jwcrypto) for machines whose PATH python3 is another one (pyenv).
 */
const CANDIDATES = process.env.FRONTDESK_PYTHON ? [process.env.FRONTDESK_PYTHON] : ['python3', '/usr/bin/python3'];
const python = CANDIDATES.find((candidate) => spawnSync(candidate, ['-c', 'import jwcrypto'], { stdio: 'ignore' }).status === 0);

describe('conformance vectors: the Python verifier', () => {
  it.skipIf(python === undefined && !process.env.CI)('passes every vector', () => {
    expect(python, 'python3 with jwcrypto is required in CI: apt-get install -y python3 python3-jwcrypto').toBeDefined();
    const run = spawnSync(python!, ['conformance/python/test_vectors.py'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const lines = run.stdout.trim().split('\n');
    const count = readCommittedVectors()!.vectors.length;
    expect({ status: run.status, last: lines.at(-1), failures: lines.slice(0, -1), stderr: run.stderr }).toEqual({
      status: 0,
      last: `${count} passed, 0 failed`,
      failures: [],
      stderr: '',
    });
  });
});
