/**
 * A loopback HTTP server that answers every request with a huge chunked body (no content-length), written
 * with backpressure, and records how much it had handed to the socket when the client hung up. A reader
 * that is bounded while it streams makes the server see the connection close after little more than the
 * reader's cap (plus what the kernel's socket buffers hold); an unbounded one reads all of it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EndlessBodyServer {
  url: string;
  /** Resolves once the response is over: either the client closed the connection or the body was all sent. */
  finished(): Promise<{ sentBytes: number; clientClosedEarly: boolean }>;
  close(): Promise<void>;
}

export async function startEndlessBodyServer(options: { totalBytes: number; prefix?: string; status?: number }): Promise<EndlessBodyServer> {
  const chunk = Buffer.alloc(64 * 1024, 'A');
  let done!: (result: { sentBytes: number; clientClosedEarly: boolean }) => void;
  const finished = new Promise<{ sentBytes: number; clientClosedEarly: boolean }>((resolve) => (done = resolve));
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(options.status ?? 200, { 'content-type': 'application/json' }); // chunked: no content-length
    let sent = 0;
    let closedEarly = false;
    res.on('close', () => {
      closedEarly = !res.writableFinished;
      done({ sentBytes: sent, clientClosedEarly: closedEarly });
    });
    const prefix = Buffer.from(options.prefix ?? '');
    res.write(prefix);
    sent += prefix.length;
    const pump = () => {
      while (!res.destroyed && sent < options.totalBytes) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    finished: () => finished,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
