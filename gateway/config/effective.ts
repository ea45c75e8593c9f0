/**
 * The effective config in gateway.yaml's own shape: every key with its value or default, `${VAR}`
 * already resolved, paths absolute, and whatever the table marks secret masked. What `gateway check`
 * prints; it is only made from a config that passed validation.
 */
import { resolve } from 'node:path';
import type { Field } from './table/fields.ts';

export const MASK = '********';

export function effectiveConfig(field: Field, value: unknown, baseDir: string): unknown {
  if (value === undefined && field.kind !== 'section' && field.kind !== 'map') value = 'default' in field ? field.default : undefined;
  if (value === undefined && field.kind !== 'section' && field.kind !== 'map') return undefined;
  if (field.secret) return MASK;
  if (field.kind === 'section' && field.optional && value === undefined) return undefined;
  switch (field.kind) {
    case 'section': {
      const raw = (value ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [name, child] of Object.entries(field.fields)) {
        const shown = effectiveConfig(child, raw[name] ?? undefined, baseDir);
        if (shown !== undefined) out[name] = shown;
      }
      return out;
    }
    case 'map':
      return Object.fromEntries(Object.entries((value ?? {}) as Record<string, unknown>).map(([name, item]) => [name, effectiveConfig(field.value, item, baseDir)]));
    case 'list':
      return (field.single && typeof value === 'string' ? [value] : (value as unknown[])).map((item) => effectiveConfig(field.item, item, baseDir));
    case 'integer':
    case 'number':
      return Number(value);
    case 'boolean':
      return value === true || value === 'true';
    case 'path':
      return resolve(baseDir, value as string);
    case 'string':
      return field.lowerCase ? (value as string).toLowerCase() : value;
    default:
      return value;
  }
}
