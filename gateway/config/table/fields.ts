/**
 * The vocabulary of the config table: one builder per kind of gateway.yaml value. A field is plain data
 * (default, bounds, unit, doc line, secret) that three readers share: the validator (../read.ts), the
 * README reference and the JSON Schema (../docs/). The type of the validated config is derived from the
 * same builders, so a key is written once.
 *
 * Defaults are written as they would be in gateway.yaml ("30s", not 30000). A duration `x` becomes `xMs`
 * (milliseconds) on the config object; every other key keeps its name.
 */

interface Common<T> {
  /** One line for the README and for editors (JSON Schema `description`). */
  readonly doc: string;
  /** Masked by `gateway check`; never logged. */
  readonly secret?: boolean;
  /** README text for a default that is not a plain value ("OIDC discovery"). */
  readonly defaultText?: string;
  /** Set when the key must be given: says what to write ("the iss subgraphs expect, e.g. …"). */
  readonly required?: string;
  /** Appended to a bounds problem: what to do instead ("fix the clocks instead"). */
  readonly hint?: string;
  /** Phantom: the type this field has on the validated config. */
  readonly __out?: () => T;
}

export interface StringField<T = unknown> extends Common<T> {
  readonly kind: 'string';
  readonly default?: string;
  /** Values must match (after `lowerCase`); `patternProblem` says why one does not. */
  readonly pattern?: string;
  readonly patternProblem?: string;
  readonly lowerCase?: boolean;
}
export interface UrlField<T = unknown> extends Common<T> {
  readonly kind: 'url';
  readonly default?: string;
}
/** A file path, resolved against the config file's folder. */
export interface PathField<T = unknown> extends Common<T> {
  readonly kind: 'path';
  readonly default?: string;
  /** Set when the file must exist at boot: what to do when it does not. */
  readonly mustExist?: string;
}
export interface IntegerField<T = unknown> extends Common<T> {
  readonly kind: 'integer';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
  readonly unit?: 'bytes';
}
/** A decimal number within bounds (a sampling ratio); integers use IntegerField. */
export interface NumberField<T = unknown> extends Common<T> {
  readonly kind: 'number';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}
export interface BooleanField<T = unknown> extends Common<T> {
  readonly kind: 'boolean';
  readonly default?: boolean;
}
export interface DurationField<T = unknown> extends Common<T> {
  readonly kind: 'duration';
  readonly default?: string;
  readonly min?: string;
  readonly max?: string;
}
export interface EnumField<T = unknown> extends Common<T> {
  readonly kind: 'enum';
  readonly values: readonly string[];
  readonly default?: string;
}
export interface ListField<T = unknown> extends Common<T> {
  readonly kind: 'list';
  readonly item: Field;
  readonly default?: readonly unknown[];
  /** A single value stands for a list of one (`scopes: scope`). */
  readonly single?: boolean;
}
export interface MapField<T = unknown> extends Common<T> {
  readonly kind: 'map';
  /** How the README names a map key (`<name>`). */
  readonly keyName: string;
  readonly value: SectionField;
}
export interface SectionField<T = unknown> extends Common<T> {
  readonly kind: 'section';
  readonly fields: Readonly<Record<string, Field>>;
  /** Turns the read fields into the config object's shape, checking what spans several keys of the section. */
  readonly finish?: (read: never, context: FinishContext) => T;
  /** Absent means off (`listen.tls`): `gateway check` omits it rather than showing its defaults. */
  readonly optional?: boolean;
}

export type Field<T = unknown> =
  | StringField<T>
  | UrlField<T>
  | PathField<T>
  | IntegerField<T>
  | NumberField<T>
  | BooleanField<T>
  | DurationField<T>
  | EnumField<T>
  | ListField<T>
  | MapField<T>
  | SectionField<T>;

export interface FinishContext {
  /** The section's key, e.g. `auth.jwt[0]`. */
  readonly key: string;
  /** Folder of the config file: relative paths are relative to it. */
  readonly baseDir: string;
  problem(message: string): void;
}

/** The type a field has on the validated config. */
export type OutputOf<F> = F extends { readonly __out?: () => infer T } ? T : never;
type OutputName<K, F> = F extends { readonly kind: 'duration' } ? `${K & string}Ms` : K;
/** The config object a section reads to: durations renamed `xMs`, every other key as written. */
export type SectionOutput<F extends Readonly<Record<string, Field>>> = { -readonly [K in keyof F as OutputName<K, F[K]>]: OutputOf<F[K]> };

/** The name a key has on the config object. */
export function outputName(name: string, field: Field): string {
  return field.kind === 'duration' ? `${name}Ms` : name;
}

type Options<F> = Omit<F, 'kind' | '__out'>;
type Given = { readonly default: unknown } | { readonly required: string };

export function string(options: Options<StringField> & Given): StringField<string>;
export function string(options: Options<StringField>): StringField<string | undefined>;
export function string(options: Options<StringField>): StringField {
  return { kind: 'string', ...options };
}

export function url(options: Options<UrlField> & Given): UrlField<string>;
export function url(options: Options<UrlField>): UrlField<string | undefined>;
export function url(options: Options<UrlField>): UrlField {
  return { kind: 'url', ...options };
}

export function path(options: Options<PathField> & Given): PathField<string>;
export function path(options: Options<PathField>): PathField<string | undefined>;
export function path(options: Options<PathField>): PathField {
  return { kind: 'path', ...options };
}

export function integer(options: Options<IntegerField> & Given): IntegerField<number>;
export function integer(options: Options<IntegerField>): IntegerField<number | undefined>;
export function integer(options: Options<IntegerField>): IntegerField {
  return { kind: 'integer', ...options };
}

export function number(options: Options<NumberField> & Given): NumberField<number>;
export function number(options: Options<NumberField>): NumberField<number | undefined>;
export function number(options: Options<NumberField>): NumberField {
  return { kind: 'number', ...options };
}

export function boolean(options: Options<BooleanField> & { readonly default: boolean }): BooleanField<boolean> {
  return { kind: 'boolean', ...options };
}

export function duration(options: Options<DurationField> & Given): DurationField<number>;
export function duration(options: Options<DurationField>): DurationField<number | undefined>;
export function duration(options: Options<DurationField>): DurationField {
  return { kind: 'duration', ...options };
}

export function oneOf<const V extends readonly string[]>(values: V, options: Omit<Options<EnumField>, 'values'> & Given): EnumField<V[number]>;
export function oneOf<const V extends readonly string[]>(values: V, options: Omit<Options<EnumField>, 'values'>): EnumField<V[number] | undefined>;
export function oneOf(values: readonly string[], options: Omit<Options<EnumField>, 'values'>): EnumField {
  return { kind: 'enum', values, ...options };
}

/** A list; absent means its default, or empty. */
export function list<I extends Field>(item: I, options: Omit<Options<ListField>, 'item'>): ListField<readonly NonNullable<OutputOf<I>>[]> {
  return { kind: 'list', item, ...options };
}

/** A mapping of free names to sections (`subgraphs.<name>`); absent means empty. */
export function map<S extends SectionField>(keyName: string, value: S, options: Omit<Options<MapField>, 'keyName' | 'value'>): MapField<Readonly<Record<string, OutputOf<S>>>> {
  return { kind: 'map', keyName, value, ...options };
}

/** A mapping of known keys; absent means every key at its default. */
export function section<const F extends Readonly<Record<string, Field>>>(doc: string, fields: F): SectionField<SectionOutput<F>>;
export function section<const F extends Readonly<Record<string, Field>>, T>(doc: string, fields: F, finish: (read: SectionOutput<F>, context: FinishContext) => T): SectionField<T>;
export function section(doc: string, fields: Readonly<Record<string, Field>>, finish?: (read: never, context: FinishContext) => unknown): SectionField {
  return finish ? { kind: 'section', doc, fields, finish } : { kind: 'section', doc, fields };
}

/** A section whose absence turns a feature off: `finish` returns undefined for it. */
export function optionalSection<const F extends Readonly<Record<string, Field>>, T>(
  doc: string,
  fields: F,
  finish: (read: SectionOutput<F>, context: FinishContext) => T | undefined,
): SectionField<T | undefined> {
  return { kind: 'section', doc, fields, finish, optional: true } as SectionField<T | undefined>;
}
