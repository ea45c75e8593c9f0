/**
 * Every default of gateway.yaml by dotted key (`auth.jwt[].jwksMaxAge`), as written in gateway.yaml,
 * read off the config table (./table/). Public API: a view, not a second source.
 */
import type { Field } from './table/fields.ts';
import { CONFIG_TABLE } from './table/index.ts';

/** The dotted key of every leaf of `field` with its field, in table order (`subgraphs.<name>.url`, `auth.jwt[].issuer`). */
export function keysOf(field: Field, prefix = ''): Array<[key: string, field: Field]> {
  const join = (name: string) => (prefix ? `${prefix}.${name}` : name);
  switch (field.kind) {
    case 'section':
      return Object.entries(field.fields).flatMap(([name, child]) => keysOf(child, join(name)));
    case 'map':
      return keysOf(field.value, join(field.keyName));
    case 'list':
      return field.item.kind === 'section' ? [[prefix, field], ...keysOf(field.item, `${prefix}[]`)] : [[prefix, field]];
    default:
      return [[prefix, field]];
  }
}

export const DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze(
  Object.fromEntries(keysOf(CONFIG_TABLE).flatMap(([key, field]) => ('default' in field && field.default !== undefined ? [[key, field.default]] : []))),
);
