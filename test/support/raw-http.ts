/**
 * Raw HTTP/1.1 over a socket, for requests a client library would refuse to send (odd request targets,
 * a body announced but never sent). Resolves with the parsed answer once the server has answered, and
 * says whether the server closed the connection.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection after answering. */
  closed: boolean;
  /** Milliseconds from sending to the complete answer. */
  ms: number;
}

export function sendRaw(base: string, head: string, options: { body?: string; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(Number(port), hostname);
    let received = '';
    let answer: Omit<RawAnswer, 'closed' | 'ms'> | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms; got: ${received.slice(0, 200)}`));
    }, timeoutMs);
    const finish = (closed: boolean) => {
      if (!answer) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...answer, closed, ms: performance.now() - started });
    };
    socket.on('connect', () => socket.write(`${head.replaceAll('\n', '\r\n')}\r\n\r\n${options.body ?? ''}`));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0 || answer) return;
      const [statusLine = '', ...lines] = received.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      const length = Number(headers['content-length'] ?? -1);
      const body = received.slice(end + 4);
      if (length >= 0 && Buffer.byteLength(body) < length) return;
      answer = { status: Number(statusLine.split(' ')[1]), headers, body };
      // Give the server a moment to close (or not) before deciding.
      setTimeout(() => finish(socket.readableEnded || socket.destroyed), 100);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (error) => {
      if (answer) finish(true);
      else {
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}
