/**
 * Reads a parsed (and interpolated) gateway.yaml against the config table. Every problem is recorded and
 * reading goes on with a placeholder, so one run reports them all; each problem names its key and says
 * what to write instead.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from './duration.ts';
import { outputName, type Field, type FinishContext, type IntegerField } from './table/fields.ts';

export interface ReadContext {
  /** Folder of the config file: relative paths are relative to it. */
  readonly baseDir: string;
  readonly problems: string[];
}

/** The value of `field` on the config object, read from `value` (undefined: the key is absent). */
export function readField(field: Field, value: unknown, key: string, context: ReadContext): unknown {
  const problem = (message: string) => void context.problems.push(message);
  if (value === undefined) {
    if (field.kind === 'section' || field.kind === 'map') value = {};
    else if (field.default !== undefined) value = field.default;
    else if (field.required !== undefined) {
      problem(`${key}: required — ${field.required}`);
      return placeholder(field);
    } else return field.kind === 'list' ? [] : undefined;
  }
  const hint = field.hint ? `; ${field.hint}` : '';

  switch (field.kind) {
    case 'string': {
      if (typeof value !== 'string' || value.length === 0) {
        problem(`${key}: expected a non-empty string, got ${describe(value)}`);
        return '';
      }
      const text = field.lowerCase ? value.toLowerCase() : value;
      if (field.pattern && !new RegExp(field.pattern).test(text)) problem(`${key}: ${JSON.stringify(text)} ${field.patternProblem ?? `does not match ${field.pattern}`}`);
      return text;
    }
    case 'url': {
      if (typeof value === 'string' && isHttpUrl(value)) return value;
      problem(`${key}: expected an http(s) URL, got ${describe(value)}`);
      return typeof value === 'string' ? value : '';
    }
    case 'path': {
      if (typeof value !== 'string' || value.length === 0) {
        problem(`${key}: expected a file path, got ${describe(value)}`);
        return '';
      }
      const absolute = resolve(context.baseDir, value);
      if (field.mustExist && !existsSync(absolute)) problem(`${key}: file ${absolute} does not exist (${field.mustExist})`);
      return absolute;
    }
    case 'integer': {
      // A string of digits comes from ${ENV} interpolation.
      const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
      if (typeof number === 'number' && Number.isInteger(number) && number >= field.min && number <= field.max) return number;
      problem(`${key}: expected an integer from ${field.min} to ${field.max}${unitSuffix(field)}, got ${describe(value)}${hint}`);
      return field.min;
    }
    case 'number': {
      // A decimal string comes from ${ENV} interpolation.
      const number = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
      if (typeof number === 'number' && Number.isFinite(number) && number >= field.min && number <= field.max) return number;
      problem(`${key}: expected a number from ${field.min} to ${field.max}, got ${describe(value)}${hint}`);
      return field.min;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true'; // from ${ENV} interpolation
      problem(`${key}: expected true or false, got ${describe(value)}`);
      return false;
    }
    case 'duration': {
      const ms = parseDuration(value);
      if (ms === undefined) {
        problem(`${key}: expected a duration with a unit such as "500ms", "30s", "10m" or "1h", got ${describe(value)}`);
        return 0;
      }
      if (field.max !== undefined && ms > (parseDuration(field.max) as number)) problem(`${key}: at most ${field.max}, got ${describe(value)}${hint}`);
      if (field.min !== undefined && ms < (parseDuration(field.min) as number)) problem(`${key}: at least ${field.min}, got ${describe(value)}${hint}`);
      return ms;
    }
    case 'enum': {
      if (typeof value === 'string' && field.values.includes(value)) return value;
      problem(`${key}: expected one of ${field.values.join(', ')}, got ${describe(value)}${hint}`);
      return field.values[0];
    }
    case 'list': {
      const items = field.single && typeof value === 'string' ? [value] : value;
      if (!Array.isArray(items)) {
        problem(`${key}: expected a list, got ${describe(value)}`);
        return [];
      }
      if (items.length === 0 && field.required !== undefined) problem(`${key}: empty — ${field.required}`);
      return items.map((item: unknown, index) => readField(field.item, item, `${key}[${index}]`, context));
    }
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [name, item] of Object.entries(mapping(value, key, problem))) out[name] = readField(field.value, item, `${key}.${name}`, context);
      return out;
    }
    case 'section': {
      const raw = mapping(value, key, problem);
      const names = Object.keys(field.fields);
      for (const name of Object.keys(raw)) {
        if (names.includes(name)) continue;
        const near = names.find((candidate) => editDistance(candidate.toLowerCase(), name.toLowerCase()) <= 2);
        problem(`${key ? `${key}.` : ''}${name}: unknown key${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${names.join(', ')}`);
      }
      const out: Record<string, unknown> = {};
      for (const [name, child] of Object.entries(field.fields)) {
        // `key:` with nothing after it is YAML null: the key at its default, as if absent.
        out[outputName(name, child)] = readField(child, raw[name] ?? undefined, key ? `${key}.${name}` : name, context);
      }
      if (!field.finish) return out;
      const finishContext: FinishContext = { key, baseDir: context.baseDir, problem };
      return (field.finish as (read: unknown, context: FinishContext) => unknown)(out, finishContext);
    }
  }
}

function placeholder(field: Field): unknown {
  switch (field.kind) {
    case 'integer':
    case 'number':
      return field.min;
    case 'duration':
      return 0;
    case 'boolean':
      return false;
    case 'enum':
      return field.values[0];
    case 'list':
      return [];
    default:
      return '';
  }
}

function mapping(value: unknown, key: string, problem: (message: string) => void): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  problem(`${key || 'config'}: expected a mapping, got ${describe(value)}`);
  return {};
}

function unitSuffix(field: IntegerField): string {
  return field.unit ? ` ${field.unit}` : '';
}

export function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * True for a plain http URL to a host beyond loopback: what travels over it (keys, tokens) can be read or
 * swapped by anyone on the path. Loopback never leaves the host (a sidecar, the local stack).
 */
export function isPlainHttpBeyondLoopback(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false; // already reported as not a URL
  }
  if (url.protocol !== 'http:') return false;
  // WHATWG URL parsing normalises IPv4 forms (127.1, 0x7f.0.0.1) to dotted decimal.
  return !(url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname));
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}
