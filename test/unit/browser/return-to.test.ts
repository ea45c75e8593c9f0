/** returnTo (gateway/http/return-to.ts): only absolute URLs on an app origin, in every spelling an attacker tries. */
import { describe, expect, it } from 'vitest';
import { allowedReturnTo } from '../../../gateway/http/return-to.ts';

const APPS = ['https://app.example', 'http://127.0.0.1:4006'];

describe('returnTo', () => {
  it.each([
    ['https://app.example/orders?tab=open#top', 'https://app.example/orders?tab=open#top'],
    ['https://app.example', 'https://app.example/'],
    ['HTTPS://APP.EXAMPLE/x', 'https://app.example/x'],
    ['https://app.example:443/x', 'https://app.example/x'],
    ['http://127.0.0.1:4006/demo/', 'http://127.0.0.1:4006/demo/'],
  ])('allows %s (redirecting to its serialisation %s)', (input, expected) => {
    expect(allowedReturnTo(input, APPS)).toBe(expected);
  });

  it('defaults to the first app origin', () => {
    expect(allowedReturnTo(null, APPS)).toBe('https://app.example/');
  });

  it.each([
    // protocol-relative and backslash forms browsers resolve to another host
    '//evil.example',
    '//evil.example/https://app.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/%2F/evil.example',
    '%2F%2Fevil.example',
    'https:/\\evil.example',
    'https:\\\\evil.example',
    'https:evil.example',
    // userinfo: the host is what follows @
    'https://app.example@evil.example',
    'https://app.example:443@evil.example/',
    'https://app.example%40evil.example',
    'https://user:pw@app.example/',
    // other origins that look alike
    'https://evil.example',
    'https://app.example.evil.example/',
    'https://evilapp.example/',
    'http://app.example/', // scheme differs
    'https://app.example:8443/',
    'http://127.0.0.1:4007/',
    'http://localhost:4006/',
    // schemes
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'java\tscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    // whitespace and controls browsers strip or repair
    ' https://app.example/',
    'https://app.example/\nLocation: https://evil.example',
    'https://evil.example\t.app.example/',
    'https://app.example\u0000.evil.example/',
    // relative references resolve against the gateway, not the app
    '/orders',
    'orders',
    '',
    `https://app.example/${'a'.repeat(3_000)}`,
  ])('refuses %j', (input) => {
    expect(allowedReturnTo(input, APPS)).toBeUndefined();
  });

  it('refuses everything when no app origin is configured', () => {
    expect(allowedReturnTo(null, [])).toBeUndefined();
    expect(allowedReturnTo('https://app.example/', [])).toBeUndefined();
  });
});
