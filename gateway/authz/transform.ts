/**
 * Removes from an operation every field the principal may not see, before Apollo Gateway plans it, so no
 * subgraph is ever asked for it. A denied field is not dropped but replaced by a placeholder, `key:
 * __typename` with the field's own directives: the response key stays where the client put it (keys keep
 * their order), `@skip`/`@include` keep deciding whether it is there, a selection set never becomes empty,
 * and the query planner answers `__typename` without a fetch — so an operation whose every field is denied
 * makes no subgraph call. After execution the placeholders' values become null with an error (response.ts).
 *
 * On an abstract type whose implementations disagree (the field is denied on some of them), the field is
 * split into one inline fragment per implementation: the real field where allowed, the placeholder where
 * denied. Selection sets of abstract types on the way to a placeholder also select `__typename` under an
 * alias of their own, so the response can be matched to the concrete type again; response.ts removes it.
 *
 * Named fragments are inlined: one fragment can be spread where different rules apply.
 */
import {
  GraphQLError,
  isAbstractType,
  isCompositeType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  getNamedType,
} from 'graphql';
import type { Principal } from '../auth/principal.ts';
import type { AccessPolicy, Denial } from './access.ts';

export interface Placeholder {
  /** The field the client asked for (the placeholder itself selects `__typename`). */
  readonly fieldName: string;
  /** Denials by concrete type name: the placeholder is only ever executed on these types. */
  readonly denials: ReadonlyMap<string, Denial>;
}

export interface AuthorizedOperation {
  /** One operation, fragments inlined, denied fields replaced by placeholders. */
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly placeholders: ReadonlyMap<FieldNode, Placeholder>;
  /** Selection sets with a placeholder somewhere below them: the only ones response.ts walks. */
  readonly marked: ReadonlySet<SelectionSetNode>;
  /** Response key of the `__typename` added to abstract selection sets on the way to a placeholder. */
  readonly typenameKey: string;
}

/**
 * The operation as `principal` may run it, or undefined when nothing in it is denied (the document is then
 * used unchanged, and so is its cached query plan).
 */
export function authorizeOperation(policy: AccessPolicy, document: DocumentNode, operation: OperationDefinitionNode, principal: Principal): AuthorizedOperation | undefined {
  if (policy.empty) return undefined;
  const { schema } = policy;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) throw new GraphQLError(`The schema has no ${operation.operation} type`);

  const placeholders = new Map<FieldNode, Placeholder>();
  const marked = new Set<SelectionSetNode>();
  const typenameKey = unusedResponseKey(document);
  const typenameField: FieldNode = { kind: Kind.FIELD, alias: { kind: Kind.NAME, value: typenameKey }, name: { kind: Kind.NAME, value: '__typename' } };

  const placeholder = (field: FieldNode, denials: Map<string, Denial>): FieldNode => {
    const node: FieldNode = {
      kind: Kind.FIELD,
      alias: { kind: Kind.NAME, value: field.alias?.value ?? field.name.value },
      name: { kind: Kind.NAME, value: '__typename' },
      ...(field.directives ? { directives: field.directives } : {}),
    };
    placeholders.set(node, { fieldName: field.name.value, denials });
    return node;
  };
  const onType = (type: GraphQLObjectType, selections: SelectionNode[]): InlineFragmentNode => ({
    kind: Kind.INLINE_FRAGMENT,
    typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: type.name } },
    selectionSet: { kind: Kind.SELECTION_SET, selections },
  });

  // `possible`: the concrete types an object here can have (the parent type's, narrowed by type conditions).
  const walkSet = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, possible: readonly GraphQLObjectType[], seen: ReadonlySet<string>): SelectionSetNode => {
    const out: SelectionNode[] = [];
    let hasPlaceholder = false;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__')) {
          // Introspection (and __typename) carry no rules; their fragments are inlined all the same.
          out.push(selection.selectionSet ? { ...selection, selectionSet: inlineOnly(selection.selectionSet, fragments, seen) } : selection);
          continue;
        }
        const denials = new Map<string, Denial>();
        const allowed: GraphQLObjectType[] = [];
        for (const type of possible) {
          const denial = policy.check(principal, type, name);
          if (denial) denials.set(type.name, denial);
          else allowed.push(type);
        }
        if (denials.size === 0) {
          const walked = walkField(selection, parent, seen);
          if (walked.selectionSet && marked.has(walked.selectionSet)) hasPlaceholder = true;
          out.push(walked);
        } else if (allowed.length === 0) {
          out.push(placeholder(selection, denials));
          hasPlaceholder = true;
        } else {
          for (const type of allowed) {
            const walked = walkField(selection, type, seen);
            const fragment = onType(type, [walked]);
            if (walked.selectionSet && marked.has(walked.selectionSet)) marked.add(fragment.selectionSet);
            out.push(fragment);
          }
          for (const type of possible) {
            const denial = denials.get(type.name);
            if (!denial) continue;
            const fragment = onType(type, [placeholder(selection, new Map([[type.name, denial]]))]);
            marked.add(fragment.selectionSet);
            out.push(fragment);
          }
          hasPlaceholder = true;
        }
        continue;
      }
      let condition: GraphQLCompositeType = parent;
      let inner: SelectionSetNode;
      let nextSeen = seen;
      let typeConditionName: string | undefined;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        typeConditionName = selection.typeCondition?.name.value;
        inner = selection.selectionSet;
      } else {
        const fragment = fragments.get(selection.name.value);
        // Validation has run: a missing or cyclic fragment cannot reach this point, but never loop.
        if (!fragment || seen.has(fragment.name.value)) continue;
        typeConditionName = fragment.typeCondition.name.value;
        inner = fragment.selectionSet;
        nextSeen = new Set([...seen, fragment.name.value]);
      }
      if (typeConditionName !== undefined) {
        const type = schema.getType(typeConditionName);
        if (!type || !isCompositeType(type)) continue;
        condition = type;
      }
      const narrowed = possible.filter((type) => type === condition || (isAbstractType(condition) && schema.isSubType(condition, type)));
      const walked = walkSet(inner, condition, narrowed, nextSeen);
      if (marked.has(walked)) hasPlaceholder = true;
      out.push({
        kind: Kind.INLINE_FRAGMENT,
        ...(typeConditionName !== undefined ? { typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: typeConditionName } } } : {}),
        ...(selection.directives ? { directives: selection.directives } : {}),
        selectionSet: walked,
      });
    }
    if (hasPlaceholder && isAbstractType(parent)) out.push(typenameField);
    const result: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: out };
    if (hasPlaceholder) marked.add(result);
    return result;
  };

  const walkField = (field: FieldNode, parent: GraphQLCompositeType, seen: ReadonlySet<string>): FieldNode => {
    // A union has no fields of its own (only __typename, which has no selection set).
    if (!field.selectionSet || !('getFields' in parent)) return field;
    const definition = parent.getFields()[field.name.value];
    const type = definition ? getNamedType(definition.type) : undefined;
    if (!type || !isCompositeType(type)) return field;
    const possible = isObjectType(type) ? [type] : schema.getPossibleTypes(type);
    return { ...field, selectionSet: walkSet(field.selectionSet, type, possible, seen) };
  };

  const selectionSet = walkSet(operation.selectionSet, rootType, [rootType], new Set());
  if (placeholders.size === 0) return undefined;
  const authorized: OperationDefinitionNode = { ...operation, selectionSet };
  return { document: { kind: Kind.DOCUMENT, definitions: [authorized] }, operation: authorized, placeholders, marked, typenameKey };
}

/** Inlines named fragments without checking anything (for introspection subtrees). */
function inlineOnly(selectionSet: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, seen: ReadonlySet<string>): SelectionSetNode {
  const selections: SelectionNode[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      selections.push(selection.selectionSet ? { ...selection, selectionSet: inlineOnly(selection.selectionSet, fragments, seen) } : selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      selections.push({ ...selection, selectionSet: inlineOnly(selection.selectionSet, fragments, seen) });
    } else {
      const fragment = fragments.get(selection.name.value);
      if (!fragment || seen.has(fragment.name.value)) continue;
      selections.push({
        kind: Kind.INLINE_FRAGMENT,
        typeCondition: fragment.typeCondition,
        ...(selection.directives ? { directives: selection.directives } : {}),
        selectionSet: inlineOnly(fragment.selectionSet, fragments, new Set([...seen, fragment.name.value])),
      });
    }
  }
  return { kind: Kind.SELECTION_SET, selections };
}

/** A response key no selection of the document uses. */
function unusedResponseKey(document: DocumentNode): string {
  const used = new Set<string>();
  const collect = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) used.add(selection.alias?.value ?? selection.name.value);
      if (selection.kind !== Kind.FRAGMENT_SPREAD) collect(selection.selectionSet);
    }
  };
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) collect(definition.selectionSet);
  }
  let key = '_frontdeskTypename';
  for (let i = 1; used.has(key); i++) key = `_frontdeskTypename${i}`;
  return key;
}
