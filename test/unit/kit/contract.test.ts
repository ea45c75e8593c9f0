import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, parsePrincipalId, principalId, requestBinding } from '../../../subgraphs/kit/contract.ts';

/** What another implementation would compute: SHA-256 of the exact JCS text, base64url. */
const sha256url = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');

describe('canonicalJson (RFC 8785 JCS)', () => {
  it('reproduces the RFC 8785 §3.2.2 example (whitespace, literals, numbers, string escapes)', () => {
    const input = JSON.parse(
      '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n' +
        '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n' +
        '  "literals": [null, true, false]\n}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units, as in RFC 8785 §3.2.3 (an emoji sorts before U+FB33)', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('formats numbers like ECMAScript (RFC 8785 Appendix B)', () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [-0, '0'],
      [1e21, '1e+21'],
      [999999999999999900000, '999999999999999900000'],
      [1e23, '1e+23'],
      [9007199254740992, '9007199254740992'],
      [-9007199254740992, '-9007199254740992'],
      [295147905179352830000, '295147905179352830000'],
      [5e-324, '5e-324'],
      [0.000001, '0.000001'],
      [1e-7, '1e-7'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [4.5, '4.5'],
      [-1.5e-10, '-1.5e-10'],
    ];
    for (const [value, expected] of cases) expect(canonicalJson(value), String(value)).toBe(expected);
    expect(canonicalJson({ a: -0, b: [1e21, -0] })).toBe('{"a":0,"b":[1e+21,0]}');
  });

  it('escapes control characters with lower-case \\u, keeps /, non-ASCII and astral characters as is', () => {
    expect(canonicalJson('\u0000\u001f\b\f\n\r\t"\\/é😀\u2028')).toBe('"\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\/é😀\u2028"');
    expect(canonicalJson({ '\u000f': 1 })).toBe('{"\\u000f":1}');
  });

  it('drops undefined members, writes undefined array slots as null, and nests', () => {
    expect(canonicalJson({ b: undefined, a: [undefined, { d: 1, c: null }] })).toBe('{"a":[null,{"c":null,"d":1}]}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson({ __proto__x: 1, constructor: 2 })).toBe('{"__proto__x":1,"constructor":2}');
    expect(canonicalJson(JSON.parse('{"__proto__":{"admin":true}}'))).toBe('{"__proto__":{"admin":true}}');
  });

  it('refuses values with no JSON form', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
  });
});

describe('requestBinding', () => {
  const query = 'query Q($id: ID!, $filter: F) { user(id: $id) { id } }';

  it('is base64url(SHA-256(JCS([query, operationName ?? null, variables ?? {}])))', () => {
    expect(requestBinding({ query: '{ a }' })).toBe(sha256url('["{ a }",null,{}]'));
    expect(requestBinding({ query, operationName: 'Q', variables: { id: 'u1', filter: { b: 2, a: 1 } } })).toBe(
      sha256url(`[${JSON.stringify(query)},"Q",{"filter":{"a":1,"b":2},"id":"u1"}]`),
    );
    expect(requestBinding({ query: '{ a }' })).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('treats absent, null and empty variables alike, and absent and null operationName alike', () => {
    const base = requestBinding({ query });
    expect(requestBinding({ query, variables: null })).toBe(base);
    expect(requestBinding({ query, variables: {} })).toBe(base);
    expect(requestBinding({ query, operationName: null })).toBe(base);
    expect(requestBinding({ query, operationName: undefined, variables: undefined })).toBe(base);
  });

  it('is stable across key order and re-serialisation', () => {
    const variables = { id: 'u1', filter: { tags: ['x', 'y'], range: { to: 9, from: 1 } } };
    const reordered = { filter: { range: { from: 1, to: 9 }, tags: ['x', 'y'] }, id: 'u1' };
    const a = requestBinding({ query, operationName: 'Q', variables });
    expect(requestBinding({ query, operationName: 'Q', variables: reordered })).toBe(a);
    const reparsed = JSON.parse(JSON.stringify({ query, operationName: 'Q', variables }, null, 2)) as { query: string; operationName: string; variables: Record<string, unknown> };
    expect(requestBinding(reparsed)).toBe(a);
  });

  it('changes with any change of query, operation name or variables', () => {
    const variables = { id: 'u1', filter: { tags: ['x', 'y'], n: 1, on: true, none: null } };
    const base = requestBinding({ query, operationName: 'Q', variables });
    const variants: Array<Parameters<typeof requestBinding>[0]> = [
      { query: `${query} `, operationName: 'Q', variables },
      { query, operationName: 'R', variables },
      { query, operationName: null, variables },
      { query, operationName: 'Q', variables: { ...variables, id: 'u2' } },
      { query, operationName: 'Q', variables: { ...variables, extra: 1 } },
      { query, operationName: 'Q', variables: { ...variables, filter: { ...variables.filter, tags: ['y', 'x'] } } },
      { query, operationName: 'Q', variables: { ...variables, filter: { ...variables.filter, n: '1' } } },
      { query, operationName: 'Q', variables: { ...variables, filter: { ...variables.filter, n: 1.5 } } },
      { query, operationName: 'Q', variables: { ...variables, filter: { ...variables.filter, on: false } } },
      { query, operationName: 'Q', variables: { ...variables, filter: { ...variables.filter, none: undefined } } },
      { query, operationName: 'Q', variables: { ...variables, filter: { ...variables.filter, tags: ['x', 'y', 'z'] } } },
      // the boundary between the three parts is unambiguous
      { query: `${query}","Q`, operationName: null, variables },
    ];
    const bindings = variants.map((variant) => requestBinding(variant));
    for (const binding of bindings) expect(binding).not.toBe(base);
    expect(new Set(bindings).size).toBe(bindings.length);
  });
});

describe('principalId', () => {
  it('is method:namespace:subject with the namespace percent-encoded outside RFC 3986 unreserved characters', () => {
    expect(principalId('jwt', 'https://idp.example/realms/a b', 'u2')).toBe('jwt:https%3A%2F%2Fidp.example%2Frealms%2Fa%20b:u2');
    expect(principalId('jwt', "shop!'()*~._-", 'u2')).toBe("jwt:shop%21%27%28%29%2A~._-:u2");
    expect(principalId('api_key', 'é', 'k:1')).toBe('api_key:%C3%A9:k:1');
  });

  it('cannot collide across issuers, methods or subjects holding ":"', () => {
    const ids = [
      principalId('jwt', 'https://a', 'b:c'),
      principalId('jwt', 'https://a:b', 'c'),
      principalId('jwt', 'https://a%3Ab', 'c'),
      principalId('introspection', 'https://a', 'b:c'),
      principalId('jwt', 'shop', 'u2'),
      principalId('jwt', 'https://b', 'u2'),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('parses back into its parts, and refuses what no principal id looks like', () => {
    for (const [method, namespace, subject] of [['jwt', 'https://idp.example', 'u:2'], ['service', 'https://gw', 'https://gw'], ['jwt', 'é', '']] as const) {
      expect(parsePrincipalId(principalId(method, namespace, subject))).toEqual({ method, namespace, subject });
    }
    for (const id of ['', 'u2', 'jwt:u2', 'root:shop:u2', 'jwt::u2', 'jwt:%zz:u2', 'jwt:%C3:u2', 'jwt:a b:u2']) {
      expect(parsePrincipalId(id), id).toBeUndefined();
    }
  });
});
