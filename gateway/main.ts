/**
 * `npm run gateway -- [--config gateway.yaml]`: runs the gateway alone, as it is deployed. The only place
 * the gateway reads process.env: FRONTDESK_CONFIG (config path when --config is absent), NODE_ENV, and
 * whatever the config file interpolates with ${VAR}.
 */
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config/load.ts';
import { StartupError } from './errors.ts';
import { startGateway } from './server.ts';

const { values } = parseArgs({ options: { config: { type: 'string' } } });
const configPath = values.config ?? process.env.FRONTDESK_CONFIG ?? 'gateway.yaml';

try {
  const config = loadConfigFile(configPath, { env: process.env });
  const gateway = await startGateway(config);
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'gateway listening', service: 'gateway', url: `${gateway.url}/graphql`, production: config.production })}\n`,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      gateway.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
} catch (error) {
  if (error instanceof StartupError) {
    process.stderr.write(`gateway: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
