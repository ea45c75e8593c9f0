export { applyAuthorization, type AuthorizationOptions, type Policy } from './enforce.ts';
export { AUTHZ_SPEC_URL, AUTHZ_DIRECTIVES_SDL, AUTHZ_LINK_SDL, AUTHZ_DIRECTIVE_NAMES } from './spec.ts';
export { createRequirementsReader, type Requirements, type RequirementsReader } from './requirements.ts';
export { resolveAuthzDirectives, AUTHZ_SPEC_IDENTITY, AUTHZ_SPEC_VERSIONS, type AuthzDirective } from './link.ts';
