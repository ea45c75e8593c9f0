/**
 * The gateway under overload and slow clients (docs/overload.md, issue 16): admission control sheds with
 * 503 OVERLOADED and Retry-After before authentication while health stays answered; slow heads and slow
 * bodies get 408 REQUEST_TIMEOUT and lose their connection; a client that leaves, or an operation past its
 * deadline, ends its subgraph fetches — and the subgraph sees the abort.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { holdRequests } from '../../support/hold.ts';
import { sendRaw } from '../../support/raw-http.ts';
import { startStack, type Stack, type StackOptions } from '../../support/stack.ts';

const stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.close().catch(() => {})));
});

async function stack(config: StackOptions['config']): Promise<Stack> {
  const started = await startStack({ config });
  stacks.push(started);
  return started;
}

const PRODUCT = (upc: string) => ({ query: `{ product(upc: "${upc}") { name } }` });

/** Answers within `ms`, or fails: health must never wait behind user traffic. */
async function timed(url: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

/** Resolves when the server closes the socket; with what it sent before closing. */
function closedBy(socket: Socket, timeoutMs: number): Promise<{ received: string; afterMs: number }> {
  const started = performance.now();
  let received = '';
  socket.on('data', (chunk: Buffer) => void (received += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms; received: ${received.slice(0, 200)}`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ received, afterMs: performance.now() - started });
    });
    socket.on('error', () => {}); // a reset after the answer is a close too
  });
}

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('admission control', () => {
  it('past the bound and the queue: 503 OVERLOADED with Retry-After, before authentication and any subgraph call; health still answers at once', async () => {
    // No standing-queue cut and no adaptive bound here: the queued request waits for as long as the test takes.
    const s = await stack({
      admission: { maxInFlight: 2, queue: 1, queueTimeout: '10s', standingQueueTimeout: '10s', eventLoopDelayTarget: '0ms', latencyTolerance: 0, retryAfter: '2s' },
      subgraphDefaults: { concurrency: 8 },
    });
    const products = holdRequests(s.subgraphs.products.server);
    const admitted = [s.query(PRODUCT('p001')), s.query(PRODUCT('p002'))];
    await products.until((h) => h.arrived === 2);
    const queued = s.query(PRODUCT('p003'));
    // The queue is full once the third request waits in it; an invalid credential proves no authentication ran.
    const shed = await (async () => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const result = await s.query(PRODUCT('p004'), { token: 'not-a-jwt' });
        if (result.status !== 401) return result;
        await new Promise((resolve) => setTimeout(resolve, 20)); // the third had not reached the queue yet
      }
      throw new Error('never shed');
    })();
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('2');
    expect(shed.headers.get('x-request-id')).toBeTruthy();
    expect(shed.body).toEqual({ errors: [{ message: 'The gateway is overloaded; retry later', extensions: { code: 'OVERLOADED' } }] });
    expect(s.overloadEvents).toContainEqual({ type: 'shed', reason: 'queue full' });
    expect(products.arrived).toBe(2);

    const base = s.url.replace(/\/graphql$/, '');
    for (const path of ['/healthz', '/readyz', '/.well-known/jwks.json']) {
      const { status, ms } = await timed(`${base}${path}`);
      expect(status, path).toBe(200);
      expect(ms, path).toBeLessThan(500); // the issue asks < 100 ms under load; generous for a shared machine
    }

    products.release();
    const results = await Promise.all([...admitted, queued]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.map((r) => (r.body.data?.product as { name: string }).name)).toEqual(['Tiny Kettle', expect.any(String), expect.any(String)]);
    expect(products.arrived).toBe(3);
  });

  it('a request that waits longer than the queue timeout is shed; the slot it would have had serves the next', async () => {
    const s = await stack({ admission: { maxInFlight: 1, queue: 5, queueTimeout: '200ms' }, subgraphDefaults: { concurrency: 8 } });
    const products = holdRequests(s.subgraphs.products.server);
    const first = s.query(PRODUCT('p001'));
    await products.until((h) => h.arrived === 1);
    const started = performance.now();
    const waited = await s.query(PRODUCT('p002'));
    expect(waited.status).toBe(503);
    expect(waited.body.errors?.[0]?.extensions?.code).toBe('OVERLOADED');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(s.overloadEvents).toContainEqual({ type: 'shed', reason: 'queue timeout' });
    products.release();
    expect((await first).status).toBe(200);
    expect((await s.query(PRODUCT('p003'))).status).toBe(200);
  });
});

describe('slow clients', () => {
  it('a head dripped line by line (slowloris) gets 408 REQUEST_TIMEOUT and is closed after server.headersTimeout', async () => {
    const s = await stack({ server: { headersTimeout: '1s', requestTimeout: '30s' } });
    const socket = await open(s.url);
    const closed = closedBy(socket, 6_000);
    socket.write('POST /graphql HTTP/1.1\r\nHost: gateway\r\n');
    const drip = setInterval(() => socket.writable && socket.write(`x-drip-${Date.now()}: 1\r\n`), 200);
    try {
      const { received, afterMs } = await closed;
      expect(afterMs).toBeGreaterThanOrEqual(900);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(received).toContain('"code":"REQUEST_TIMEOUT"');
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });

  it('a connection that never sends a request line is closed too', async () => {
    const s = await stack({ server: { headersTimeout: '1s', requestTimeout: '30s' } });
    const socket = await open(s.url);
    const { afterMs } = await closedBy(socket, 6_000);
    expect(afterMs).toBeLessThan(6_000);
  });

  it('a body that does not arrive within server.bodyTimeout gets 408 REQUEST_TIMEOUT and the connection is closed, no subgraph called', async () => {
    const s = await stack({ server: { bodyTimeout: '300ms' } });
    s.resetReceived();
    const body = JSON.stringify(PRODUCT('p001'));
    const answer = await sendRaw(s.url, `POST /graphql HTTP/1.1\nHost: gateway\nContent-Type: application/json\nContent-Length: ${body.length}`, { body: body.slice(0, 10) });
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toEqual({ errors: [{ message: 'Request not received in time', extensions: { code: 'REQUEST_TIMEOUT' } }] });
    expect(answer.closed).toBe(true);
    expect(answer.ms).toBeGreaterThanOrEqual(250);
    expect(s.subgraphs.products.received).toEqual([]);
  });
});

describe('the operation ends its subgraph fetches', () => {
  it('a client that disconnects aborts the subgraph fetch it was waiting for, and frees its slot', async () => {
    const s = await stack({ admission: { maxInFlight: 1, queue: 0 }, subgraphDefaults: { concurrency: 8 } });
    const products = holdRequests(s.subgraphs.products.server);
    const client = new AbortController();
    const leaving = fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(PRODUCT('p001')), signal: client.signal });
    await products.until((h) => h.arrived === 1);
    client.abort();
    await expect(leaving).rejects.toThrow();
    await products.until((h) => h.aborted === 1, 3_000);
    products.release();
    // The one slot is free again: the next operation is admitted, not shed.
    const next = await s.query(PRODUCT('p002'));
    expect(next.status).toBe(200);
    expect(s.logs.some((l) => l.msg === 'subgraph request failed' && l.level === 'debug' && l.subgraph === 'products')).toBe(true);
  });

  it('server.deadline cuts a fetch short of its subgraph timeout: partial data, and the subgraph sees the abort', async () => {
    const s = await stack({ server: { deadline: '400ms' }, subgraphDefaults: { timeout: '10s' } });
    const reviews = holdRequests(s.subgraphs.reviews.server);
    const started = performance.now();
    const result = await s.query({ query: '{ product(upc: "p002") { name reviews { rating } } other: product(upc: "p003") { upc } }' });
    const ms = performance.now() - started;
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(3_000);
    expect(result.status).toBe(200);
    expect(result.body.data).toEqual({ product: null, other: { upc: 'p003' } });
    expect(result.body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_UNAVAILABLE');
    await reviews.until((h) => h.aborted === 1, 3_000);
    reviews.release();
  });
});
