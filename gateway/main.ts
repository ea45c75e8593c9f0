/**
 * `npm run gateway -- [--config gateway.yaml]`: runs the gateway alone, as it is deployed.
 * `npm run gateway -- check [--config gateway.yaml] [--format yaml|json]`: validates the config and prints
 * the effective one (README.md "Configuration reference"), exit 0; or every problem, exit 1.
 * The only place the gateway reads process.env: FRONTDESK_CONFIG (config path when --config is absent),
 * NODE_ENV, and whatever the config file interpolates with ${VAR}.
 */
import { parseArgs } from 'node:util';
import { checkConfig } from './config/check-command.ts';
import { loadConfigFile } from './config/load.ts';
import { StartupError } from './errors.ts';
import { loggerFor } from './log.ts';
import { startGateway } from './server.ts';

const { values, positionals } = parseArgs({ options: { config: { type: 'string' }, format: { type: 'string' } }, allowPositionals: true });
const configPath = values.config ?? process.env.FRONTDESK_CONFIG ?? 'gateway.yaml';
const [command, ...extra] = positionals;

if (command === 'check') {
  const format = values.format ?? 'yaml';
  if (extra.length > 0 || (format !== 'yaml' && format !== 'json')) {
    process.stderr.write('usage: gateway check [--config gateway.yaml] [--format yaml|json]\n');
    process.exit(2);
  }
  const result = checkConfig(configPath, format, { env: process.env });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exit(result.exitCode);
}
if (command !== undefined || values.format !== undefined) {
  process.stderr.write('usage: gateway [--config gateway.yaml] | gateway check [--config gateway.yaml] [--format yaml|json]\n');
  process.exit(2);
}

try {
  const config = loadConfigFile(configPath, { env: process.env });
  // The one root logger of the process (pino); every room logs through a child of it.
  const log = await loggerFor(config);
  const gateway = await startGateway(config, { log });
  // The ready line supervisors and tests wait for: always written, whatever logLevel says.
  const ready = { service: 'gateway', url: `${gateway.url}/graphql`, production: config.production, ...(gateway.metricsUrl ? { metrics: gateway.metricsUrl } : {}) };
  if (config.logFormat === 'pretty') log.info('gateway listening', ready);
  else process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'gateway listening', ...ready })}\n`);
  const stop = (preStopMs: number) =>
    gateway.close({ preStopMs }).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  // SIGTERM is how an orchestrator stops a replica: first unready (503 on /readyz) for shutdownDelay,
  // still serving, then drain. Ctrl-C (SIGINT) is a person at a terminal: drain at once.
  process.once('SIGTERM', () => void stop(config.shutdownDelayMs));
  process.once('SIGINT', () => void stop(0));
} catch (error) {
  if (error instanceof StartupError) {
    process.stderr.write(`gateway: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

