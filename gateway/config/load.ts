/**
 * Reads gateway.yaml, interpolates ${ENV} references, validates everything at once against the config
 * table (./table/) and freezes the result. Every problem is reported in one ConfigError, each naming its
 * key and what to change.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { StartupError } from '../errors.ts';
import { CHECKS } from './checks.ts';
import { interpolate } from './interpolate.ts';
import { readField } from './read.ts';
import { CONFIG_TABLE } from './table/index.ts';
import type { GatewayConfig } from './types.ts';

export { SUPPORTED_JWT_ALGORITHMS } from './table/auth.ts';

export class ConfigError extends StartupError {
  readonly problems: readonly string[];
  constructor(source: string, problems: string[]) {
    super('CONFIG_INVALID', `invalid gateway config (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadConfigOptions {
  /** Environment for ${VAR} interpolation and NODE_ENV. */
  env: Readonly<Record<string, string | undefined>>;
}

/** The config file as YAML gave it, or a ConfigError saying why it cannot be read. */
export function readConfigFile(path: string): { source: string; raw: unknown } {
  const source = resolve(path);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    throw new ConfigError(source, [`cannot read the config file: ${(error as Error).message}`]);
  }
  try {
    return { source, raw: parseYaml(text) };
  } catch (error) {
    throw new ConfigError(source, [`not valid YAML: ${(error as Error).message}`]);
  }
}

export function loadConfigFile(path: string, options: LoadConfigOptions): GatewayConfig {
  const { source, raw } = readConfigFile(path);
  return parseConfig(raw, { ...options, source });
}

/** `raw` with ${VAR} references replaced; unset variables without a default are problems. */
export function interpolateConfig(raw: unknown, env: LoadConfigOptions['env'], problems: string[]): unknown {
  return interpolate(raw ?? {}, '', env, problems);
}

/** Validates a parsed config object; `source` (the file) anchors relative paths. */
export function parseConfig(raw: unknown, options: LoadConfigOptions & { source?: string }): GatewayConfig {
  const problems: string[] = [];
  const baseDir = options.source ? dirname(options.source) : process.cwd();
  const input = interpolateConfig(raw, options.env, problems);
  const read = readField(CONFIG_TABLE, input, '', { baseDir, problems }) as Omit<GatewayConfig, 'source' | 'production'>;
  const config: GatewayConfig = { source: options.source, production: options.env.NODE_ENV === 'production', ...read };
  for (const check of CHECKS) check(config, (message) => void problems.push(message));
  if (problems.length > 0) throw new ConfigError(options.source ?? 'inline config', problems);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
