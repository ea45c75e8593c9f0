/**
 * `npm run docs:config`: writes what is generated from the config table (gateway/config/table/): the
 * configuration reference in README.md and the JSON Schema of gateway.yaml. Commit both;
 * test/unit/config/docs-drift.test.ts fails when either differs from the table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gatewayJsonSchema, SCHEMA_PATH } from '../gateway/config/docs/json-schema.ts';
import { withConfigReference } from '../gateway/config/docs/reference.ts';

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

const readme = root('README.md');
writeFileSync(readme, withConfigReference(readFileSync(readme, 'utf8')));
writeFileSync(root(SCHEMA_PATH), `${JSON.stringify(gatewayJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote README.md (configuration reference) and ${SCHEMA_PATH}\n`);
