/**
 * Credential extraction (gateway/auth/credential.ts): what a request carries — nothing, or one Bearer
 * token — and every ambiguous or malformed form refused with the exact AuthError the HTTP front turns into
 * a challenge (RFC 6750 §2.1 syntax, §2 one method only, §3.1 error codes).
 */
import { describe, expect, it } from 'vitest';
import { extractCredential, type Credential } from '../../../gateway/auth/credential.ts';
import { AuthError, type BearerError } from '../../../gateway/errors.ts';

const MAX = 64;

function extract(authorization: string | undefined, search = '', maxTokenBytes = MAX): Credential {
  return extractCredential(authorization === undefined ? [] : ['Authorization', authorization], search, maxTokenBytes);
}

interface Expected {
  code: AuthError['code'];
  bearerError: BearerError | undefined;
  description: string;
  reason: string;
}

function refusal(run: () => unknown): AuthError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    return error as AuthError;
  }
  throw new Error('expected an AuthError, but the credential was accepted');
}

function expectRefused(run: () => unknown, expected: Expected): void {
  const error = refusal(run);
  expect({ code: error.code, bearerError: error.bearerError, description: error.description, reason: error.reason }).toEqual(expected);
  expect(error.message).toBe(expected.reason);
}

const TWO_HEADERS: Expected = {
  code: 'UNAUTHENTICATED',
  bearerError: 'invalid_request',
  description: 'Send exactly one Authorization header',
  reason: 'two Authorization headers',
};
const IN_URL: Expected = {
  code: 'UNAUTHENTICATED',
  bearerError: 'invalid_request',
  description: 'Send the token in the Authorization header, not the URL',
  reason: 'access_token in the URL',
};
const EMPTY: Expected = {
  code: 'UNAUTHENTICATED',
  bearerError: 'invalid_request',
  description: 'The Bearer credential is empty',
  reason: 'empty Bearer credential',
};
const NOT_B64TOKEN: Expected = {
  code: 'UNAUTHENTICATED',
  bearerError: 'invalid_token',
  description: 'The access token is invalid',
  reason: 'credential has characters outside b64token',
};
const tooLarge = (length: number): Expected => ({
  code: 'UNAUTHENTICATED',
  bearerError: 'invalid_token',
  description: 'The access token is too large',
  reason: `credential of ${length} bytes exceeds the limit`,
});
const unsupported = (scheme: string): Expected => ({
  code: 'UNAUTHENTICATED',
  bearerError: undefined,
  description: 'Use the Bearer scheme',
  reason: `unsupported Authorization scheme "${scheme}"`,
});

describe('no credential', () => {
  it('no Authorization header and no query is { kind: "none" }', () => {
    expect(extractCredential([], '', MAX)).toEqual({ kind: 'none' });
  });

  it('other headers and an unrelated query do not make a credential', () => {
    expect(extractCredential(['Host', 'gw', 'Cookie', 'access_token=abc', 'X-Authorization', 'Bearer abc'], '?token=abc&a=1', MAX)).toEqual({ kind: 'none' });
  });

  it('a bare "?" is an empty query', () => {
    expect(extract(undefined, '?')).toEqual({ kind: 'none' });
  });
});

describe('a Bearer token', () => {
  it('is returned as is', () => {
    expect(extract('Bearer abc.def-ghi_jkl~mno+pqr/stu')).toEqual({ kind: 'bearer', token: 'abc.def-ghi_jkl~mno+pqr/stu' });
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('the scheme is case-insensitive (%s)', (scheme) => {
    expect(extract(`${scheme} abc`)).toEqual({ kind: 'bearer', token: 'abc' });
  });

  it.each(['authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn'])('the header name is case-insensitive (%s)', (name) => {
    expect(extractCredential([name, 'Bearer abc'], '', MAX)).toEqual({ kind: 'bearer', token: 'abc' });
  });

  it('is found among other raw headers', () => {
    expect(extractCredential(['Host', 'gw', 'Authorization', 'Bearer abc', 'Accept', '*/*'], '?a=1', MAX)).toEqual({ kind: 'bearer', token: 'abc' });
  });
});

describe('duplicate Authorization headers are refused (RFC 6750 §2: one method only)', () => {
  it.each([
    ['the same casing', ['Authorization', 'Bearer abc', 'Authorization', 'Bearer abc']],
    ['different casings', ['authorization', 'Bearer abc', 'AUTHORIZATION', 'Bearer def']],
    ['with other headers between', ['Authorization', 'Bearer abc', 'Host', 'gw', 'authorization', 'Basic dXNlcjpwYXNz']],
    ['the second one empty', ['Authorization', 'Bearer abc', 'Authorization', '']],
    ['both empty', ['Authorization', '', 'Authorization', '']],
  ])('%s', (_name, rawHeaders) => {
    expectRefused(() => extractCredential(rawHeaders, '', MAX), TWO_HEADERS);
  });

  it('even when the two together would be too large', () => {
    expectRefused(() => extractCredential(['Authorization', `Bearer ${'a'.repeat(MAX * 2)}`, 'Authorization', 'Bearer b'], '', MAX), TWO_HEADERS);
  });
});

describe('access_token in the URL query is refused (RFC 6750 §2.3: URLs end up in logs)', () => {
  it.each([
    ['alone', '?access_token=abc'],
    ['among other parameters', '?a=1&access_token=abc&b=2'],
    ['with an empty value', '?access_token='],
    ['without a value', '?access_token'],
    ['percent-encoded name', '?access%5Ftoken=abc'],
  ])('%s, without an Authorization header', (_name, search) => {
    expectRefused(() => extract(undefined, search), IN_URL);
  });

  it('alongside a valid Authorization header', () => {
    expectRefused(() => extract('Bearer abc', '?access_token=abc'), IN_URL);
  });

  it('a similar but different parameter name is not a credential', () => {
    expect(extract(undefined, '?access_tokens=abc&ACCESS_TOKEN=abc&my_access_token=abc')).toEqual({ kind: 'none' });
  });
});

describe('an oversized credential is refused before it is parsed', () => {
  // The limit is on the token; the header may be longer by "Bearer " (7 bytes).
  it('a header of exactly maxTokenBytes + 7 bytes is accepted', () => {
    const token = 'a'.repeat(MAX);
    expect(extract(`Bearer ${token}`)).toEqual({ kind: 'bearer', token });
  });

  it('one byte more is refused as too large', () => {
    const header = `Bearer ${'a'.repeat(MAX + 1)}`;
    expectRefused(() => extract(header), tooLarge(MAX + 8));
  });

  it('an oversized header with an unsupported scheme is "too large", not a scheme challenge', () => {
    const header = `Basic ${'a'.repeat(MAX + 2)}`;
    expectRefused(() => extract(header), tooLarge(header.length));
  });

  it('an oversized header of characters outside b64token is "too large", not "invalid"', () => {
    const header = `Bearer ${'!'.repeat(MAX + 1)}`;
    expectRefused(() => extract(header), tooLarge(header.length));
  });

  it('an oversized header of spaces is "too large", not "empty"', () => {
    const header = `Bearer ${' '.repeat(MAX + 1)}`;
    expectRefused(() => extract(header), tooLarge(header.length));
  });
});

describe('an unsupported scheme gets a challenge without an error code (RFC 6750 §3.1), never anonymous', () => {
  it.each([
    ['Basic', 'Basic dXNlcjpwYXNz'],
    ['Digest', 'Digest username="u", realm="r"'],
    ['DPoP', 'DPoP abc'],
    ['Bearerx', 'Bearerx abc'],
    ['Token', 'Token abc'],
  ])('%s', (scheme, header) => {
    expectRefused(() => extract(header), unsupported(scheme));
  });

  it('a value without a space is its own scheme', () => {
    expectRefused(() => extract('abc.def.ghi'), unsupported('abc.def.ghi'));
  });

  it('the scheme is cut to 20 characters in the server-only reason', () => {
    expectRefused(() => extract(`${'X'.repeat(40)} abc`), unsupported('X'.repeat(20)));
  });

  it('a tab is not the separator (RFC 9110 §11.4: 1*SP), so "Bearer<TAB>token" is an unknown scheme', () => {
    expectRefused(() => extract('Bearer\tabc'), unsupported('Bearer\tabc'));
  });
});

describe('an empty Bearer credential is an invalid request', () => {
  it.each([
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['the scheme and spaces', 'Bearer    '],
    ['lower-case scheme alone', 'bearer'],
  ])('%s', (_name, header) => {
    expectRefused(() => extract(header), EMPTY);
  });
});

describe('the token must be a b64token (RFC 6750 §2.1)', () => {
  it('every character of the b64token alphabet is accepted', () => {
    const token = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/';
    expect(extract(`Bearer ${token}`, '', 200)).toEqual({ kind: 'bearer', token });
  });

  it.each([
    ['a space inside', 'abc def'],
    ['a quote', 'abc"def'],
    ['a comma', 'abc,def'],
    ['a semicolon', 'abc;def'],
    ['a backslash', 'abc\\def'],
    ['a percent sign', 'abc%20def'],
    ['a non-ASCII letter', 'abcédef'],
    ['a tab inside', 'abc\tdef'],
    ['a second scheme', 'Bearer abc'],
  ])('%s is refused', (_name, token) => {
    expectRefused(() => extract(`Bearer ${token}`), NOT_B64TOKEN);
  });

  describe('padding: "=" only at the end, after at least one character', () => {
    it.each(['abc=', 'abc==', 'abc===='])('%s is accepted', (token) => {
      expect(extract(`Bearer ${token}`)).toEqual({ kind: 'bearer', token });
    });

    it.each([
      ['padding alone', '='],
      ['padding only', '=='],
      ['padding first', '=abc'],
      ['padding in the middle', 'ab=c'],
      ['a character after the padding', 'abc==d'],
    ])('%s is refused', (_name, token) => {
      expectRefused(() => extract(`Bearer ${token}`), NOT_B64TOKEN);
    });
  });
});

describe('whitespace around the token', () => {
  it('several spaces after the scheme are accepted (1*SP)', () => {
    expect(extract('Bearer    abc')).toEqual({ kind: 'bearer', token: 'abc' });
  });

  it('trailing whitespace is trimmed', () => {
    expect(extract('Bearer abc  ')).toEqual({ kind: 'bearer', token: 'abc' });
  });

  it('whitespace is not part of the returned token', () => {
    expect(extract('Bearer \tabc\t ')).toEqual({ kind: 'bearer', token: 'abc' });
  });
});
