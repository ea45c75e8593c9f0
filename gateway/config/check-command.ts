/**
 * `npm run gateway -- check --config gateway.yaml [--format yaml|json]`: validates a config without
 * starting the gateway. Valid: prints the effective config (./effective.ts) on stdout, exit 0. Invalid:
 * prints every problem on stderr, exit 1.
 */
import { dirname } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { effectiveConfig } from './effective.ts';
import { ConfigError, interpolateConfig, parseConfig, readConfigFile, type LoadConfigOptions } from './load.ts';
import { CONFIG_TABLE } from './table/index.ts';

export interface CheckResult {
  exitCode: 0 | 1;
  stdout: string;
  stderr: string;
}

export function checkConfig(path: string, format: 'yaml' | 'json', options: LoadConfigOptions): CheckResult {
  let file: ReturnType<typeof readConfigFile>;
  let production: boolean;
  try {
    file = readConfigFile(path);
    ({ production } = parseConfig(file.raw, { ...options, source: file.source }));
  } catch (error) {
    if (error instanceof ConfigError) return { exitCode: 1, stdout: '', stderr: `gateway check: ${error.message}\n` };
    throw error;
  }
  const { source, raw } = file;
  const shown = effectiveConfig(CONFIG_TABLE, interpolateConfig(raw, options.env, []), dirname(source));
  const stdout =
    format === 'json'
      ? `${JSON.stringify(shown, null, 2)}\n`
      : `# effective config of ${source}${production ? ' (NODE_ENV=production)' : ''}: defaults filled in, secrets masked\n${toYaml(shown)}`;
  return { exitCode: 0, stdout, stderr: `gateway check: ${source} is valid\n` };
}
