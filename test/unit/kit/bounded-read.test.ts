/**
 * Issue 11, hole 6: every document read from the network is bounded while it streams. A server streams
 * 64 MiB, chunked, without content-length; each reader must hang up after little more than its cap (the
 * slack is what loopback socket buffers can hold), never read the whole body first and measure it after.
 */
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createDiscoveredKeySet } from '../../../gateway/auth/discovery.ts';
import { SubgraphDataSource } from '../../../gateway/datasource.ts';
import { SubgraphGuard } from '../../../gateway/subgraph/guard.ts';
import { ANONYMOUS } from '../../../gateway/auth/principal.ts';
import { createLogger } from '../../../gateway/log.ts';
import { Readable } from 'node:stream';
import { BodyTooLargeError, readBoundedText } from '../../../subgraphs/kit/bounded-read.ts';
import { createRemoteKeySet, KeySetUnavailableError } from '../../../subgraphs/kit/key-set.ts';
import { startEndlessBodyServer, type EndlessBodyServer } from '../../support/endless-body.ts';

const TOTAL = 64 * 1_048_576;
/** Loopback send + receive buffers (Linux autotuning reaches a few MiB each) plus Node's stream buffers. */
const SLACK = 16 * 1_048_576;
const header = { alg: 'ES256', kid: 'unknown' };

let server: EndlessBodyServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function expectAbortedEarly(cap: number) {
  const { sentBytes, clientClosedEarly } = await server!.finished();
  expect(clientClosedEarly).toBe(true);
  expect(sentBytes).toBeLessThan(cap + SLACK);
}

describe('bounded reads of network documents', () => {
  it('OIDC discovery hangs up on a document larger than 64 KiB instead of reading it whole', async () => {
    server = await startEndlessBodyServer({ totalBytes: TOTAL, prefix: '{"issuer":"https://idp.test","x":"' });
    const events: Array<{ ok: boolean; error?: Error }> = [];
    const keys = createDiscoveredKeySet('https://idp.test', `${server.url}/.well-known/openid-configuration`, { onFetch: (e) => events.push(e) });
    const error = await Promise.resolve().then(() => keys.getKey(header, { payload: '', signature: '' } as never)).then(() => undefined, (e: unknown) => e);
    await expectAbortedEarly(65_536);
    expect(error).toBeInstanceOf(KeySetUnavailableError);
    expect(String((error as Error & { cause?: Error }).cause?.message)).toMatch(/exceeds the 65536-byte limit/);
    expect(events.map((e) => e.ok)).toEqual([false]);
  });

  it('a remote key set hangs up on a body larger than maxBytes', async () => {
    server = await startEndlessBodyServer({ totalBytes: TOTAL, prefix: '{"keys":[{"x":"' });
    const keys = createRemoteKeySet(new URL(`${server.url}/jwks.json`), { maxBytes: 262_144 });
    await expect(keys.refresh()).rejects.toThrow(/exceeds the 262144-byte limit/);
    await expectAbortedEarly(262_144);
  });

  it('the gateway hangs up on a subgraph response larger than maxResponseBytes, even on an unbounded agent', async () => {
    server = await startEndlessBodyServer({ totalBytes: TOTAL, prefix: '{"data":{"x":"' });
    const dispatcher = new Agent(); // no maxResponseSize: the data source bounds the read itself
    const logged: unknown[] = [];
    const log = createLogger({ level: 'silent' });
    const source = new SubgraphDataSource({
      name: 'accounts',
      url: `${server.url}/graphql`,
      timeoutMs: 10_000,
      dispatcher,
      mint: async () => 'token',
      identityHeader: 'frontdesk-identity',
      forwardHeaders: [],
      servicePrincipal: ANONYMOUS,
      log: { ...log, warn: (msg: string, fields?: unknown) => logged.push([msg, fields]) } as typeof log,
      maxResponseBytes: 1_048_576,
      guard: new SubgraphGuard('accounts', { concurrency: 1, queueTimeoutMs: 1_000, failures: 0, coolDownMs: 1_000, dedup: false, log, onEvent: () => {} }),
    });
    try {
      const response = await source.process({ kind: 'health check', request: { query: '{ __typename }' }, context: {} } as never);
      expect(response.errors?.map((e) => e.extensions?.code)).toEqual(['SUBGRAPH_UNAVAILABLE']);
      expect(logged).toHaveLength(1);
      await expectAbortedEarly(1_048_576);
    } finally {
      await dispatcher.close();
    }
  });
});

describe('readBoundedText', () => {
  const web = (parts: string[]) => new Response(new ReadableStream({ start(c) { for (const p of parts) c.enqueue(new TextEncoder().encode(p)); c.close(); } })).body;
  it('reads a body of exactly maxBytes, and refuses one byte more, from a web or a Node stream', async () => {
    expect(await readBoundedText(web(['ab', 'cd']), { maxBytes: 4 })).toBe('abcd');
    await expect(readBoundedText(web(['ab', 'cde']), { maxBytes: 4, what: 'thing' })).rejects.toThrow(new BodyTooLargeError('thing', 4));
    expect(await readBoundedText(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), { maxBytes: 4 })).toBe('abcd');
    const node = Readable.from([Buffer.from('ab'), Buffer.from('cde'), Buffer.from('never read')]);
    await expect(readBoundedText(node, { maxBytes: 4 })).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(node.destroyed).toBe(true);
  });

  it('refuses a declared content-length over the limit without reading a byte', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({ pull(c) { pulled++; c.enqueue(new Uint8Array(1)); } });
    await expect(readBoundedText(body, { maxBytes: 10, declaredLength: '11' })).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(pulled).toBeLessThanOrEqual(1); // a ReadableStream pulls once on creation to fill its queue
    expect(await readBoundedText(null, { maxBytes: 10 })).toBe('');
  });
});
