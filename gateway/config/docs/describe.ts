/** How a config field reads in prose: its default and its bounds, shared by the README and the JSON Schema. */
import type { Field } from '../table/fields.ts';

/** 33554432 → "32 MiB"; sizes that are not a whole number of KiB stay in bytes. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1_073_741_824], ['MiB', 1_048_576], ['KiB', 1_024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** The default as README shows it (markdown), or undefined when the key has none. */
export function defaultText(field: Field): string {
  if (field.defaultText !== undefined) return field.defaultText;
  if (field.required !== undefined) return 'required';
  if (!('default' in field) || field.default === undefined) return '—';
  const value = field.default;
  if (Array.isArray(value)) return `\`${value.join(', ')}\``;
  if (field.kind === 'integer' && field.unit === 'bytes' && typeof value === 'number' && value >= 1_024) return `\`${value}\` (${formatBytes(value)})`;
  return `\`${String(value)}\``;
}

/** What values are allowed, in a few words ("duration, at most 5m"). */
export function boundsText(field: Field): string {
  switch (field.kind) {
    case 'string':
      return field.patternProblem ? `string that ${field.patternProblem}` : field.pattern ? `string matching \`${field.pattern}\`` : 'string';
    case 'url':
      return 'http(s) URL';
    case 'path':
      return field.mustExist ? 'file path (must exist)' : 'file path';
    case 'integer':
      return field.unit === 'bytes' ? `bytes, ${formatBytes(field.min)} to ${formatBytes(field.max)}` : `integer, ${field.min} to ${field.max}`;
    case 'number':
      return `number, ${field.min} to ${field.max}`;
    case 'boolean':
      return '`true` or `false`';
    case 'duration':
      if (field.min !== undefined && field.max !== undefined) return `duration, ${field.min} to ${field.max}`;
      if (field.max !== undefined) return `duration, at most ${field.max}`;
      if (field.min !== undefined) return `duration, at least ${field.min}`;
      return 'duration';
    case 'enum':
      return `one of ${field.values.map((value) => `\`${value}\``).join(', ')}`;
    case 'list':
      if (field.item.kind === 'section') return 'list of mappings';
      return `list${field.single ? ' (or one value)' : ''} of ${field.item.kind === 'enum' ? field.item.values.map((value) => `\`${value}\``).join(', ') : `${boundsText(field.item)}s`}`;
    case 'map':
      return `mapping of ${field.keyName} to settings`;
    case 'section':
      return 'mapping';
  }
}
