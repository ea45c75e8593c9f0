/**
 * gateway/log.ts: a child logger (the HTTP front's per-request one) writes its bindings on every line, is
 * redacted like its parent, and follows its parent's level, though it is only made when it first writes.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../gateway/log.ts';

function capture(level: 'debug' | 'info' | 'warn') {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level, write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

describe('child logger', () => {
  it('writes its bindings and the line’s fields, secrets redacted in both', () => {
    const { log, lines } = capture('info');
    const child = log.child({ requestId: 'r-1', headers: { authorization: 'Bearer secret-token' } });
    child.info('hello', { cookie: 'sid=secret', status: 200 });
    child.warn('again');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ msg: 'hello', level: 'info', requestId: 'r-1', status: 200, cookie: '[Redacted]', headers: { authorization: '[Redacted]' } });
    expect(lines[1]).toMatchObject({ msg: 'again', level: 'warn', requestId: 'r-1' });
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('writes nothing below its parent’s level, and says so', () => {
    const { log, lines } = capture('warn');
    const child = log.child({ requestId: 'r-2' });
    child.debug('no');
    child.info('no');
    expect(child.isEnabled('info')).toBe(false);
    expect(child.isEnabled('error')).toBe(true);
    child.error('yes', { code: 'INTERNAL' });
    expect(lines).toEqual([expect.objectContaining({ msg: 'yes', level: 'error', requestId: 'r-2', code: 'INTERNAL' })]);
  });

  it('a grandchild carries both bindings', () => {
    const { log, lines } = capture('debug');
    log.child({ requestId: 'r-3' }).child({ room: 'sessions' }).debug('nested');
    expect(lines).toEqual([expect.objectContaining({ msg: 'nested', level: 'debug', requestId: 'r-3', room: 'sessions' })]);
  });
});
