/**
 * The error catalogue is closed and documented: docs/errors.md and README list exactly the codes of
 * subgraphs/kit/catalogue.ts with their statuses, and the startup codes of gateway/errors.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, errorBody, isCatalogueCode } from '@frontdesk/kit/catalogue';
import { StartupError, type StartupErrorCode } from '../../../gateway/errors.ts';

const errorsDoc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** `| \`CODE\` | 401 | …` rows of a markdown table. */
function documentedCodes(markdown: string): Map<string, number> {
  const rows = [...markdown.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)];
  return new Map(rows.map(([, code, status]) => [code as string, Number(status)]));
}

describe('the error catalogue', () => {
  it('docs/errors.md lists exactly the catalogue, each code with its one status', () => {
    const catalogue = new Map(Object.entries(ERROR_CATALOGUE).map(([code, { status }]) => [code, status]));
    expect(documentedCodes(errorsDoc)).toEqual(catalogue);
  });

  it('README lists exactly the catalogue too', () => {
    const catalogue = new Map(Object.entries(ERROR_CATALOGUE).map(([code, { status }]) => [code, status]));
    expect(documentedCodes(readme)).toEqual(catalogue);
  });

  it('docs/errors.md lists every startup error code', () => {
    const codes: StartupErrorCode[] = ['CONFIG_INVALID', 'IDENTITY_KEYS_UNUSABLE', 'SUPERGRAPH_MISMATCH', 'LISTEN_FAILED'];
    for (const code of codes) {
      expect(errorsDoc).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
      expect(new StartupError(code, 'x').code).toBe(code);
    }
  });

  it('knows its own codes only, whatever the prototype chain says', () => {
    expect(isCatalogueCode('FORBIDDEN')).toBe(true);
    expect(isCatalogueCode('TEAPOT')).toBe(false);
    expect(isCatalogueCode('__proto__')).toBe(false);
    expect(isCatalogueCode('constructor')).toBe(false);
    expect(isCatalogueCode(401)).toBe(false);
  });

  it('writes the one error body shape, with the catalogue message unless told otherwise', () => {
    expect(errorBody('NOT_FOUND')).toEqual({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
    expect(errorBody('BAD_REQUEST', 'Request body is not valid JSON')).toEqual({ errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
  });
});
