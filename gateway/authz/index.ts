/**
 * The gateway's own check of `@authenticated` and `@requiresScopes` (docs/authorization.md).
 */
export { gatewayAuthorizationPlugin, type GatewayAuthorizationOptions } from './plugin.ts';
export { readAuthorizationRules, AuthorizationRulesError, type AuthorizationRules, type AccessRule } from './rules.ts';
export { createAccessPolicy, type AccessPolicy, type Denial } from './access.ts';
