import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../gateway/config/defaults.ts';
import { ERROR_CATALOGUE } from '../../../gateway/errors.ts';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README stays in step with the code', () => {
  it('documents every config key of the defaults table', () => {
    const missing = Object.keys(DEFAULTS).filter((key) => !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it('documents every error code of the catalogue with its HTTP status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
      expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });
});
