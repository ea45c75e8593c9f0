export { applyAuthorization, type AuthorizationOptions, type Policy } from './enforce.ts';
export { AUTHZ_SPEC_URL, AUTHZ_DIRECTIVES_SDL, AUTHZ_LINK_SDL, AUTHZ_DIRECTIVE_NAMES } from './spec.ts';
export { fieldRequirements, typeRequirements, returnTypeRequirements, type Requirements } from './requirements.ts';
