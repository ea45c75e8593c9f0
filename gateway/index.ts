/**
 * frontdesk gateway — public API.
 */
export { startGateway, BootError, type GatewayOptions, type RunningGateway } from './server.ts';
export { loadConfigFile, parseConfig, ConfigError } from './config/load.ts';
export { DEFAULTS } from './config/defaults.ts';
export type { GatewayConfig, AuthConfig, JwtIssuerConfig, IdentityConfig, ClaimMapping } from './config/types.ts';
export type { Principal } from './auth/principal.ts';
export type { GatewayContext } from './datasource.ts';
export { ERROR_CATALOGUE, type ErrorCode } from './errors.ts';
export { createLogger, type Logger, type LogLevel } from './log.ts';
