/** An operation's cost (gateway/apollo/operation-cost.ts): fields, aliases, fragments, list sizes, @skip/@include. */
import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationCost } from '../../../gateway/apollo/operation-cost.ts';

const options = { listArguments: ['first', 'last', 'limit'], maxListSize: 100 };

function cost(source: string, variables?: Record<string, unknown>, opts = options): number {
  const document = parse(source);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  const fragments = Object.fromEntries(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  return operationCost(operation, fragments, variables, opts);
}

describe('operationCost', () => {
  it('counts every field selection once, aliases included', () => {
    expect(cost('{ a }')).toBe(1);
    expect(cost('{ a { b c } }')).toBe(3);
    expect(cost(`{ ${Array.from({ length: 100 }, (_, i) => `x${i}: a`).join(' ')} }`)).toBe(100);
  });

  it('multiplies a selection by its list argument, literal or variable, capped', () => {
    expect(cost('{ items(first: 10) { a b } }')).toBe(21);
    expect(cost('query($n: Int) { items(last: $n) { a } }', { n: 7 })).toBe(8);
    expect(cost('{ items(limit: 100000) { a } }')).toBe(101);
    expect(cost('{ items(first: 3) { sub(first: 3) { a } } }')).toBe(1 + 3 * (1 + 3));
    expect(cost('{ items(page: 50) { a } }')).toBe(2);
    expect(cost('{ items(first: 10) { a } }', undefined, { listArguments: [], maxListSize: 100 })).toBe(2);
  });

  it('counts fragments where they are spread, and leaves out what @skip and @include leave out', () => {
    expect(cost('{ a { ...F } b { ...F } } fragment F on T { x y }')).toBe(6);
    expect(cost('{ a { ... on T { x y } } }')).toBe(3);
    expect(cost('query($s: Boolean) { a @skip(if: $s) b @include(if: false) c }', { s: true })).toBe(1);
  });

  it('stops counting past a billion: a fragment bomb cannot overflow', () => {
    const fragments = Array.from({ length: 40 }, (_, i) => `fragment F${i} on T { a: f { ...F${i + 1} } b: f { ...F${i + 1} } }`).join(' ');
    expect(cost(`{ ...F0 } ${fragments} fragment F40 on T { x }`)).toBe(1_000_000_000);
  });
});
