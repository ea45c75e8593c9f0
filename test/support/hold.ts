/**
 * Puts a subgraph's HTTP server on hold: every request it receives waits until the test releases it (or
 * is answered by a stand-in handler), and the test sees what arrived, what is still open and which
 * requests the gateway abandoned (the connection closed before an answer). Events, not sleeps: each wait
 * is bounded and fails with what it saw.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Held {
  /** Requests received so far, in order. */
  readonly arrived: number;
  /** Requests whose connection closed before they were answered: the gateway aborted them. */
  readonly aborted: number;
  /** Most requests open at once so far. */
  readonly maxOpen: number;
  /** Resolves once `predicate` holds, checked on every arrival and close; rejects after `timeoutMs`. */
  until(predicate: (held: Held) => boolean, timeoutMs?: number): Promise<void>;
  /** Serves the requests held so far and every later one with the subgraph's own handlers. */
  release(): void;
  /** Answers every request (held and later) with `handler` instead of the subgraph. */
  answerWith(handler: Handler): void;
  /** Holds again from now on. */
  hold(): void;
}

export function holdRequests(server: Server, options: { delayMs?: number } = {}): Held {
  const own = server.listeners('request') as Handler[];
  server.removeAllListeners('request');
  const events = new EventEmitter();
  let waiting: Array<[IncomingMessage, ServerResponse]> = [];
  let mode: { kind: 'hold' } | { kind: 'serve'; handlers: Handler[] } = { kind: 'hold' };
  let open = 0;
  const stats = { arrived: 0, aborted: 0, maxOpen: 0 };

  const serve = (req: IncomingMessage, res: ServerResponse, handlers: Handler[]) => {
    const run = () => {
      if (!res.destroyed) for (const handler of handlers) handler(req, res);
    };
    if (options.delayMs) setTimeout(run, options.delayMs);
    else run();
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    stats.arrived++;
    open++;
    stats.maxOpen = Math.max(stats.maxOpen, open);
    res.once('close', () => {
      open--;
      if (!res.writableFinished) stats.aborted++;
      events.emit('change');
    });
    if (mode.kind === 'hold') waiting.push([req, res]);
    else serve(req, res, mode.handlers);
    events.emit('change');
  });

  const switchTo = (handlers: Handler[]) => {
    mode = { kind: 'serve', handlers };
    const held = waiting;
    waiting = [];
    for (const [req, res] of held) serve(req, res, handlers);
  };

  const held: Held = {
    get arrived() {
      return stats.arrived;
    },
    get aborted() {
      return stats.aborted;
    },
    get maxOpen() {
      return stats.maxOpen;
    },
    until(predicate, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(held)) return;
          clearTimeout(timer);
          events.off('change', check);
          resolve();
        };
        const timer = setTimeout(() => {
          events.off('change', check);
          reject(new Error(`not within ${timeoutMs} ms: arrived ${stats.arrived}, open ${open}, aborted ${stats.aborted}`));
        }, timeoutMs);
        events.on('change', check);
        check();
      });
    },
    release: () => switchTo(own),
    answerWith: (handler) => switchTo([handler]),
    hold: () => void (mode = { kind: 'hold' }),
  };
  return held;
}
