import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keysOf } from '../../../gateway/config/defaults.ts';
import { boundsText, defaultText } from '../../../gateway/config/docs/describe.ts';
import { gatewayJsonSchema, SCHEMA_PATH } from '../../../gateway/config/docs/json-schema.ts';
import { withConfigReference } from '../../../gateway/config/docs/reference.ts';
import { CONFIG_TABLE } from '../../../gateway/config/table/index.ts';
import { ERROR_CATALOGUE } from '../../../gateway/errors.ts';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const readme = read('README.md');

describe('README and the JSON Schema stay in step with the config table', () => {
  it('documents every config key with its default and its bounds', () => {
    const rows = readme.split('\n');
    const undocumented = keysOf(CONFIG_TABLE).flatMap(([key, field]) => {
      const row = rows.find((line) => line.startsWith(`| \`${key}\` |`));
      return row?.includes(` ${defaultText(field)} `) && row.includes(` ${boundsText(field)} `) ? [] : [key];
    });
    expect(undocumented).toEqual([]);
  });

  it('README holds the reference exactly as `npm run docs:config` writes it', () => {
    expect(withConfigReference(readme) === readme, 'README.md is stale: run `npm run docs:config`').toBe(true);
  });

  it(`${SCHEMA_PATH} is exactly what the table generates`, () => {
    expect(JSON.parse(read(SCHEMA_PATH)), `${SCHEMA_PATH} is stale: run \`npm run docs:config\``).toEqual(gatewayJsonSchema());
  });

  it('gateway.yaml names the schema for editors', () => {
    expect(read('gateway.yaml').split('\n')[0]).toBe(`# yaml-language-server: $schema=${SCHEMA_PATH}`);
  });

  it('documents every error code of the catalogue with its HTTP status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
      expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });
});
