/**
 * Logs an operator can use: one access line per request, the audit stream of authentication decisions
 * (and the kit's field denials at the subgraph), a masked 500 with the original error and its stack under
 * the request id — all joinable by request id and trace id, with no credential in any line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../gateway/log.ts';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { startStack, type LogEntry, type Stack } from '../../support/stack.ts';
import { startObservedGateway, type ObservedGateway } from './support.ts';

let stack: Stack;
let idp: TestIssuer;
let observed: ObservedGateway;
const subgraphLogs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  idp = await startTestIssuer();
  stack = await startStack();
  observed = await startObservedGateway(stack, { auth: { anonymous: true, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: [idp.audience] }] } });
});

afterAll(async () => {
  await observed?.gateway.close();
  await stack?.close();
  await idp?.close();
});

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const linesFor = (requestId: string) => observed.logs.filter((line) => line.requestId === requestId);
const settle = () => new Promise((resolve) => setTimeout(resolve, 50)); // the access line is written on 'close'

describe('the access log', () => {
  it('has one line per request: method, status, outcome, duration, operation, request id, trace id, hashed principal, auth method', async () => {
    const token = await idp.sign({ sub: 'alice-subject-42' });
    const result = await observed.query(
      { query: 'query ProductNames { topProducts(first: 1) { name } }' },
      { authorization: `Bearer ${token}`, 'x-request-id': 'acc-1', traceparent: `00-${TRACE}-b7ad6b7169203331-01` },
    );
    expect(result.status).toBe(200);
    await settle();
    const access = linesFor('acc-1').filter((line) => line.access);
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'POST',
      route: 'graphql',
      status: 200,
      outcome: 'ok',
      operationName: 'ProductNames',
      traceId: TRACE,
      authMethod: 'jwt',
      principal: expect.stringMatching(/^[\w-]{22}$/),
    });
    expect(access[0]?.durationMs).toBeGreaterThan(0);
    expect(JSON.stringify(observed.logs)).not.toContain('alice-subject-42');
    expect(observed.lines.join('')).not.toContain(token.split('.')[2]);

    // The same caller again: the same pseudonym, so their requests can be followed without their subject.
    await observed.query({ query: '{ topProducts(first: 1) { name } }' }, { authorization: `Bearer ${token}`, 'x-request-id': 'acc-2' });
    await settle();
    expect(linesFor('acc-2').find((line) => line.access)?.principal).toBe(access[0]?.principal);
  });

  it('logs a refused request with its status and outcome, and the reason only in the audit stream', async () => {
    const expired = await idp.sign({ sub: 'bob', iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 60 });
    expect((await observed.query({ query: '{ __typename }' }, { authorization: `Bearer ${expired}`, 'x-request-id': 'ref-1' })).status).toBe(401);
    await settle();
    const [audit, access] = [linesFor('ref-1').filter((l) => l.audit), linesFor('ref-1').filter((l) => l.access)];
    expect(access).toEqual([expect.objectContaining({ status: 401, outcome: 'refused' })]);
    expect(access[0]).not.toHaveProperty('reason');
    expect(audit).toEqual([
      expect.objectContaining({
        msg: 'authentication refused',
        level: 'info',
        result: 'expired',
        method: 'jwt',
        code: 'UNAUTHENTICATED',
        reason: expect.stringContaining('ERR_JWT_EXPIRED'),
        claimedIssuer: idp.issuer,
        kid: idp.keys[0]?.kid,
      }),
    ]);
  });
});

describe('the audit stream', () => {
  it('records accepted decisions with method, issuer, kid and whether the cache decided', async () => {
    const token = await idp.sign({ sub: 'carol' });
    await observed.query({ query: '{ __typename }' }, { authorization: `Bearer ${token}`, 'x-request-id': 'aud-1' });
    await observed.query({ query: '{ __typename }' }, { authorization: `Bearer ${token}`, 'x-request-id': 'aud-2' });
    const accepted = observed.logs.filter((l) => l.audit && l.msg === 'authentication accepted' && String(l.requestId).startsWith('aud-'));
    expect(accepted.map((l) => [l.requestId, l.result, l.method, l.issuer, l.kid, l.cached])).toEqual([
      ['aud-1', 'accepted', 'jwt', idp.issuer, idp.keys[0]?.kid, false],
      ['aud-2', 'accepted', 'jwt', idp.issuer, idp.keys[0]?.kid, true],
    ]);
  });

  it("includes the kit's field denials at the subgraph, under the gateway's request id", async () => {
    const lines: LogEntry[] = [];
    const { runSubgraph } = await import('../../../subgraphs/shop/example.ts');
    const { createAccountsSubgraph } = await import('../../../subgraphs/shop/accounts/index.ts');
    const accounts = await runSubgraph(createAccountsSubgraph() as never, {
      port: 0,
      identity: { jwks: { keys: [] }, issuer: stack.identityIssuer },
      log: (entry) => void lines.push(entry as LogEntry),
    });
    let denied;
    try {
      denied = await observed.query({ query: '{ user(id: "u2") { email } }' }, { 'x-request-id': 'deny-1' });
    } finally {
      await accounts.close();
    }
    expect((denied.body.errors as Array<{ extensions: { code: string } }>)[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(stack.subgraphs.accounts.audit).toContainEqual(
      expect.objectContaining({ msg: 'field denied', audit: true, field: 'User.email', code: 'UNAUTHENTICATED', method: 'anonymous', requestId: 'deny-1' }),
    );
    // Another subgraph in the same process does not log this one's denials.
    expect(lines.filter((line) => line.audit)).toEqual([]);
  });
});

describe('a masked 500', () => {
  it('logs the original error with its stack and cause under the request id', async () => {
    const saved = stack.stores.products.topProducts;
    stack.stores.products.topProducts = async () => {
      throw new Error('connection to db failed');
    };
    try {
      await observed.query({ query: '{ topProducts { upc } }' }, { 'x-request-id': 'boom-1' });
    } finally {
      stack.stores.products.topProducts = saved;
    }
    const logged = linesFor('boom-1').find((l) => l.msg === 'operation error') as LogEntry & { err: { type: string; message: string; stack: string; extensions: { stacktrace: string[] } } };
    expect(logged).toMatchObject({ level: 'error', subgraph: 'products', path: ['topProducts'] });
    expect(logged.err).toMatchObject({ type: 'GraphQLError', message: 'connection to db failed' });
    expect(logged.err.stack).toMatch(/^GraphQLError: connection to db failed\n\s+at /);
    // A subgraph in development sends its own stack; it reaches the log, never the client (masked).
    expect(logged.err.extensions.stacktrace.join('\n')).toContain('logs.test.ts');
  });
});

describe('redaction', () => {
  it('never writes credentials, cookies, API keys or tokens, wherever they sit in a line', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (line) => void lines.push(line) }).child({ requestId: 'r' });
    const error = new Error('outer', { cause: new TypeError('inner') });
    log.info('seen', {
      authorization: 'Bearer aaa',
      headers: { cookie: 'sid=bbb', 'x-api-key': 'ccc', 'set-cookie': ['sid=ddd'] },
      request: { headers: { authorization: 'Bearer eee' }, token: 'fff' },
      token: 'ggg',
      err: error,
    });
    const line = JSON.parse(lines[0] as string) as Record<string, unknown> & { err: { message: string; stack: string; cause: { type: string; message: string } } };
    for (const secret of ['aaa', 'bbb', 'ccc', 'ddd', 'eee', 'fff', 'ggg']) expect(lines[0]).not.toContain(secret);
    expect(line.headers).toEqual({ cookie: '[Redacted]', 'x-api-key': '[Redacted]', 'set-cookie': '[Redacted]' });
    expect(line.err.stack).toMatch(/^Error: outer\n/);
    expect(line.err.cause).toMatchObject({ type: 'TypeError', message: 'inner' });
    expect(line).toMatchObject({ level: 'info', msg: 'seen', requestId: 'r', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });
});
