/**
 * A JSON Schema (draft-07) for gateway.yaml, generated from the config table: editors complete and check
 * keys with it (README.md "Configuration reference"). `npm run docs:config` writes it to
 * docs/gateway.schema.json; test/unit/config/docs-drift.test.ts fails when the file differs.
 */
import type { Field } from '../table/fields.ts';
import { CONFIG_TABLE } from '../table/index.ts';
import { boundsText } from './describe.ts';

export const SCHEMA_PATH = 'docs/gateway.schema.json';

type Schema = Record<string, unknown>;

/** Any string value may be a ${VAR} reference, resolved at boot. */
const INTERPOLATED: Schema = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}' };

export function gatewayJsonSchema(): Schema {
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: 'frontdesk gateway.yaml', ...schemaOf(CONFIG_TABLE) };
}

function schemaOf(field: Field): Schema {
  const annotations: Schema = { description: field.kind === 'section' ? field.doc : `${field.doc} (${boundsText(field).replace(/`/g, '')})` };
  if ('default' in field && field.default !== undefined) annotations.default = field.default;
  if (field.secret) annotations.writeOnly = true;
  switch (field.kind) {
    case 'section': {
      const required = Object.entries(field.fields).flatMap(([name, child]) => (child.required !== undefined ? [name] : []));
      const properties = Object.fromEntries(Object.entries(field.fields).map(([name, child]) => [name, schemaOf(child)]));
      return { ...annotations, type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
    }
    case 'map':
      return { ...annotations, type: 'object', additionalProperties: schemaOf(field.value) };
    case 'list': {
      const list: Schema = { type: 'array', items: schemaOf(field.item), ...(field.required !== undefined ? { minItems: 1 } : {}) };
      return { ...annotations, ...(field.single ? { anyOf: [list, schemaOf(field.item)] } : list) };
    }
    case 'string':
      return { ...annotations, ...(field.pattern ? { anyOf: [{ type: 'string', pattern: field.pattern }, INTERPOLATED] } : { type: 'string', minLength: 1 }) };
    case 'path':
      return { ...annotations, type: 'string', minLength: 1 };
    case 'url':
      return { ...annotations, anyOf: [{ type: 'string', pattern: '^https?://' }, INTERPOLATED] };
    case 'integer':
      return { ...annotations, anyOf: [{ type: 'integer', minimum: field.min, maximum: field.max }, INTERPOLATED] };
    case 'number':
      return { ...annotations, anyOf: [{ type: 'number', minimum: field.min, maximum: field.max }, INTERPOLATED] };
    case 'boolean':
      return { ...annotations, anyOf: [{ type: 'boolean' }, INTERPOLATED] };
    case 'duration':
      return { ...annotations, anyOf: [{ type: 'string', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)$' }, INTERPOLATED] };
    case 'enum':
      return { ...annotations, anyOf: [{ enum: [...field.values] }, INTERPOLATED] };
  }
}
