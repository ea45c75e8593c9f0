/**
 * An operation's cost, what rate limits spend (docs/fleet.md "Rate limits"): every field selection costs
 * 1 — aliases included, so 100 aliases of one field cost 100 — and a field with an integer list argument
 * (`first`, `last`, `limit` by default) multiplies the cost of its selections by that size, capped at
 * `rateLimit.cost.maxListSize`. Fragments count where they are spread; a selection that `@skip` or
 * `@include` leaves out costs nothing. Computed once on the validated document, before planning.
 */
import { Kind, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode, type ValueNode } from 'graphql';

export interface CostOptions {
  readonly listArguments: readonly string[];
  readonly maxListSize: number;
}

/** Past this a cost is not counted further: any budget is spent long before. */
const COST_CAP = 1_000_000_000;

export function operationCost(
  operation: OperationDefinitionNode,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
  variables: Readonly<Record<string, unknown>> | undefined,
  options: CostOptions,
): number {
  const listArguments = new Set(options.listArguments);
  const fragmentCosts = new Map<string, number>();
  const value = (node: ValueNode): unknown => (node.kind === Kind.VARIABLE ? variables?.[node.name.value] : node.kind === Kind.INT ? Number(node.value) : node.kind === Kind.BOOLEAN ? node.value : undefined);
  const included = (node: { directives?: readonly { name: { value: string }; arguments?: readonly { name: { value: string }; value: ValueNode }[] }[] }): boolean => {
    for (const directive of node.directives ?? []) {
      const condition = directive.arguments?.find((argument) => argument.name.value === 'if');
      if (!condition) continue;
      if (directive.name.value === 'skip' && value(condition.value) === true) return false;
      if (directive.name.value === 'include' && value(condition.value) === false) return false;
    }
    return true;
  };

  const selectionCost = (set: SelectionSetNode | undefined): number => {
    let total = 0;
    for (const selection of set?.selections ?? []) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        let multiplier = 1;
        for (const argument of selection.arguments ?? []) {
          if (!listArguments.has(argument.name.value)) continue;
          const size = value(argument.value);
          if (typeof size === 'number' && Number.isInteger(size) && size > 1) multiplier = Math.max(multiplier, Math.min(size, options.maxListSize));
        }
        total += 1 + multiplier * selectionCost(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += selectionCost(selection.selectionSet);
      } else {
        // Validation (NoFragmentCycles) guarantees the recursion ends; the memo keeps it linear.
        const name = selection.name.value;
        let cost = fragmentCosts.get(name);
        if (cost === undefined) {
          cost = selectionCost(fragments[name]?.selectionSet);
          fragmentCosts.set(name, cost);
        }
        total += cost;
      }
      if (total >= COST_CAP) return COST_CAP;
    }
    return total;
  };
  return Math.min(COST_CAP, selectionCost(operation.selectionSet));
}
