/**
 * frontdesk gateway — public API. Everything an embedder may use is exported here by name; the rest of
 * gateway/ is internal (docs/architecture.md).
 */
export { startGateway, type GatewayOptions, type RunningGateway } from './server.ts';
export { loadConfigFile, parseConfig, ConfigError } from './config/load.ts';
export { DEFAULTS } from './config/defaults.ts';
export type { GatewayConfig, AuthConfig, JwtIssuerConfig, IdentityConfig, ClaimMapping } from './config/types.ts';
export { ANONYMOUS, type Principal } from './auth/principal.ts';
export type { GatewayContext } from './context.ts';
export { ERROR_CATALOGUE, StartupError, type ErrorCode, type StartupErrorCode } from './errors.ts';
export { KeyLoadError } from './identity/keys.ts';
export { createLogger, type Logger, type LogLevel } from './log.ts';
