/**
 * Enforces @authenticated, @requiresScopes and @policy in a subgraph schema by wrapping field resolvers:
 * a denied field is never resolved; it becomes null with an error at its exact path (aliases included),
 * code UNAUTHENTICATED (no principal) or FORBIDDEN (principal lacks scopes or a policy), and the rest of
 * the operation runs. Non-null fields bubble as GraphQL specifies.
 *
 * Where a rule applies (docs/authorization.md, "Where each rule applies"):
 * - field rules, and the rules on the same field of the interfaces the type implements;
 * - type rules on an object, and on every interface it implements, on every field of the object (so every
 *   path to its data, entity resolution through `_entities` and abstract types included, is covered),
 *   with `parent` the object;
 * - @authenticated and @requiresScopes of a field's return type, and of that type's interfaces, also on
 *   the field that returns it, so a protected object is nulled as a whole; scalars' and enums' rules,
 *   policies included, on the field.
 */
import {
  defaultFieldResolver,
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { ErrorCode } from '../errors.ts';
import type { Identity } from '../identity.ts';
import { reportDenial } from '../telemetry.ts';
import { createRequirementsReader, isEmpty, NONE, policyNames, type Requirements } from './requirements.ts';

/** A named policy: sees the caller, the parent object and the field's arguments. Throwing or timing out denies. */
export type Policy<Context = unknown> = (
  identity: Identity,
  target: { parent: unknown; args: Record<string, unknown>; context: Context; info: GraphQLResolveInfo },
) => boolean | Promise<boolean>;

export interface AuthorizationOptions<Context = unknown> {
  /** Policies by name; every name used by @policy in the schema must be registered, or this throws. */
  policies?: Record<string, Policy<Context>>;
  /** A policy still running after this many milliseconds denies. Default is 1000. */
  policyTimeoutMs?: number;
  /** Treat every field without a rule as @authenticated. Default false. */
  authenticatedByDefault?: boolean;
  /** With authenticatedByDefault: fields that stay public, as "Type.field". */
  publicFields?: readonly string[];
  /** Reads the identity from the context. Default `context.identity` (the kit's SubgraphContext). */
  identityOf?: (context: Context) => Identity | undefined;
  /** Called when a policy throws or times out (for the log; the client only sees FORBIDDEN). */
  onPolicyError?: (policy: string, error: unknown) => void;
}

/** Federation's own entry points: never behind rules (entities are checked on their fields). */
const FEDERATION_FIELDS = new Set(['Query._entities', 'Query._service', '_Service.sdl']);

/** Wraps the resolvers of `schema` in place and returns it. Call it once, after buildSubgraphSchema. */
export function applyAuthorization<Context>(schema: GraphQLSchema, options: AuthorizationOptions<Context> = {}): GraphQLSchema {
  const policies = options.policies ?? {};
  const timeoutMs = options.policyTimeoutMs ?? 1_000;
  const identityOf = options.identityOf ?? ((context: Context) => (context as { identity?: Identity } | undefined)?.identity);
  const publicFields = new Set(options.publicFields ?? []);
  const unknownPolicies = new Set<string>();
  const rules = createRequirementsReader(schema); // throws at boot on directives it cannot resolve

  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      if (FEDERATION_FIELDS.has(coordinate)) continue;
      let requirements = rules.effective(type, field);
      if (isEmpty(requirements) && options.authenticatedByDefault && !publicFields.has(coordinate) && !getNamedType(field.type).name.startsWith('_')) {
        requirements = { ...NONE, authenticated: true };
      }
      for (const name of policyNames(requirements)) if (!(name in policies)) unknownPolicies.add(name);
      if (isEmpty(requirements) || !isObjectType(type)) continue; // interface fields are enforced on their implementations
      const resolve: GraphQLFieldResolver<unknown, Context> = field.resolve ?? defaultFieldResolver;
      field.resolve = (parent, args, context, info) => {
        const identity = identityOf(context);
        const verdict = decide(requirements, identity, { parent, args, context, info }, policies, timeoutMs, options.onPolicyError);
        if (verdict === true) return resolve(parent, args, context, info);
        if (verdict === false) throw denial(identity, coordinate, context);
        return verdict.then((allowed) => {
          if (!allowed) throw denial(identity, coordinate, context);
          return resolve(parent, args, context, info);
        });
      };
    }
  }
  if (unknownPolicies.size > 0) {
    throw new TypeError(`@policy names with no registered policy: ${[...unknownPolicies].join(', ')}; pass them in options.policies`);
  }
  return schema;
}

/** The error at a denied field's path; the denial is also reported (a span event, the audit channel). */
function denial(identity: Identity | undefined, coordinate: string, context: unknown): GraphQLError {
  const code = identity?.authenticated ? ErrorCode.FORBIDDEN : ErrorCode.UNAUTHENTICATED;
  reportDenial({ coordinate, code, context });
  return code === ErrorCode.UNAUTHENTICATED
    ? new GraphQLError(`Authentication required to access ${coordinate}`, { extensions: { code } })
    : new GraphQLError(`Not authorized to access ${coordinate}`, { extensions: { code } });
}

/** true/false when decidable synchronously, a promise when a policy must run. */
function decide<Context>(
  requirements: Requirements,
  identity: Identity | undefined,
  target: { parent: unknown; args: Record<string, unknown>; context: Context; info: GraphQLResolveInfo },
  policies: Record<string, Policy<Context>>,
  timeoutMs: number,
  onPolicyError: AuthorizationOptions<Context>['onPolicyError'],
): boolean | Promise<boolean> {
  if (!identity) return false; // no identity in the context: the kit was bypassed; fail closed
  if (requirements.authenticated && !identity.authenticated) return false;
  for (const alternatives of requirements.scopes) {
    if (!alternatives.some((set) => set.every((scope) => identity.scopes.includes(scope)))) return false;
  }
  if (requirements.policies.length === 0) return true;
  return (async () => {
    for (const alternatives of requirements.policies) {
      let satisfied = false;
      for (const set of alternatives) {
        const results = await Promise.all(set.map((name) => runPolicy(name, policies, identity, target, timeoutMs, onPolicyError)));
        if (results.every(Boolean)) {
          satisfied = true;
          break;
        }
      }
      if (!satisfied) return false;
    }
    return true;
  })();
}

async function runPolicy<Context>(
  name: string,
  policies: Record<string, Policy<Context>>,
  identity: Identity,
  target: { parent: unknown; args: Record<string, unknown>; context: Context; info: GraphQLResolveInfo },
  timeoutMs: number,
  onPolicyError: AuthorizationOptions<Context>['onPolicyError'],
): Promise<boolean> {
  const policy = policies[name];
  if (!policy) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const verdict = await Promise.race([
      Promise.resolve().then(() => policy(identity, target)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`policy ${name} exceeded ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    // Only a literal true allows: a truthy string or object from a buggy policy denies.
    return verdict === true;
  } catch (error) {
    onPolicyError?.(name, error);
    return false;
  } finally {
    clearTimeout(timer);
  }
}
