/**
 * Puts the denied fields back into a response: each placeholder the executor answered becomes `null` with
 * an error at its response path (aliases and list indices included), the message and code the kit would
 * have given. A null in a non-null position propagates to the nearest nullable parent, as GraphQL execution
 * does (GraphQL spec §6.4.4 "Handling Field Errors"), up to `data` itself. The `__typename` transform.ts
 * added for matching concrete types is removed.
 */
import {
  getNullableType,
  isAbstractType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type GraphQLFormattedError,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Denial } from './access.ts';
import type { AuthorizedOperation } from './transform.ts';

type Path = readonly (string | number)[];

/** The error a denied field gets; the same message and code as the kit's (subgraphs/kit/authz/enforce.ts). */
export function denialError(denial: Denial, path: Path): GraphQLFormattedError {
  const message = denial.code === 'UNAUTHENTICATED' ? `Authentication required to access ${denial.coordinate}` : `Not authorized to access ${denial.coordinate}`;
  return { message, path: [...path], extensions: { code: denial.code } };
}

/**
 * Rewrites `result.data` in place and returns the denial errors, in response order. Nothing is added when
 * there is no data (the operation failed before execution).
 */
export function applyDenials(schema: GraphQLSchema, authorized: AuthorizedOperation, result: { data?: Record<string, unknown> | null }): GraphQLFormattedError[] {
  const errors: GraphQLFormattedError[] = [];
  const reported = new Set<string>();
  const { placeholders, marked, typenameKey } = authorized;
  const types = new WeakMap<object, GraphQLObjectType>();

  /** true when `object` itself must become null (a non-null field in it was nulled). */
  const walkObject = (object: Record<string, unknown>, staticType: GraphQLObjectType | undefined, selectionSet: SelectionSetNode, path: Path): boolean => {
    let type = types.get(object) ?? staticType;
    if (typeof object[typenameKey] === 'string') {
      const named = schema.getType(object[typenameKey]);
      if (isObjectType(named)) type = named;
    }
    delete object[typenameKey];
    if (!type) return false;
    types.set(object, type);
    let nullSelf = false;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (!marked.has(selection.selectionSet)) continue;
        const condition: GraphQLNamedType | undefined = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        if (condition !== type && !(condition && isAbstractType(condition) && schema.isSubType(condition, type))) continue;
        if (walkObject(object, type, selection.selectionSet, path)) nullSelf = true;
        continue;
      }
      if (selection.kind !== Kind.FIELD) continue;
      const key = selection.alias?.value ?? selection.name.value;
      if (key === typenameKey || !Object.hasOwn(object, key)) continue; // skipped (@skip/@include) or not this type
      const placeholder = placeholders.get(selection);
      if (placeholder) {
        const denial = placeholder.denials.get(type.name);
        if (!denial) continue;
        const fieldPath = [...path, key];
        const id = JSON.stringify(fieldPath);
        if (!reported.has(id)) {
          reported.add(id);
          errors.push(denialError(denial, fieldPath));
        }
        object[key] = null;
        const definition = type.getFields()[placeholder.fieldName];
        if (definition && isNonNullType(definition.type)) nullSelf = true;
        continue;
      }
      if (!selection.selectionSet || !marked.has(selection.selectionSet)) continue;
      const definition = type.getFields()[selection.name.value];
      if (!definition) continue;
      if (walkValue(object[key], definition.type, selection.selectionSet, [...path, key])) {
        object[key] = null;
        if (isNonNullType(definition.type)) nullSelf = true;
      }
    }
    return nullSelf;
  };

  /** true when `value` must become null at its position (the caller applies the position's nullability). */
  const walkValue = (value: unknown, type: GraphQLOutputType, selectionSet: SelectionSetNode, path: Path): boolean => {
    if (value === null || value === undefined) return false;
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      if (!Array.isArray(value)) return false;
      const itemType = nullable.ofType as GraphQLOutputType;
      let nullSelf = false;
      value.forEach((item, index) => {
        if (walkValue(item, itemType, selectionSet, [...path, index])) {
          value[index] = null;
          if (isNonNullType(itemType)) nullSelf = true;
        }
      });
      return nullSelf;
    }
    if (typeof value !== 'object' || Array.isArray(value)) return false;
    return walkObject(value as Record<string, unknown>, isObjectType(nullable) ? nullable : undefined, selectionSet, path);
  };

  const data = result.data;
  if (!data) return errors;
  const rootType = schema.getRootType(authorized.operation.operation);
  if (rootType && walkObject(data, rootType, authorized.operation.selectionSet, [])) result.data = null;
  return errors;
}
