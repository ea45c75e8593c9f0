/**
 * Deduplication of identical subgraph fetches in flight (docs/overload.md): a query fetch that is
 * byte-for-byte the one already on its way to the same subgraph, for the same principal and with the same
 * forwarded headers, waits for that fetch's answer instead of making its own.
 *
 * Why this is safe with identity tokens: the token minted for the shared fetch names this subgraph (`aud`),
 * this exact request (`rbh`, a hash of the body) and this principal — and all three are part of the key, so
 * every request that shares it would have sent a token with the same claims. The principal part is every
 * field of the Principal (its id, subject, issuer, method, scopes, roles, tenant, client id and the credential's
 * expiry, so the shared token never outlives any of the credentials it serves): two users, or one user
 * with two different sets of scopes, never share a fetch. Mutations never share (sharing.test).
 *
 * Each waiter gets the raw answer and parses it itself: Apollo Gateway merges fetched objects into its
 * result tree in place, so two operations must never hold the same objects.
 */
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Principal } from '../auth/principal.ts';
import type { GatewayContext } from '../context.ts';

/**
 * Headers that differ on every request and only correlate it (W3C trace context, the request id): a
 * shared fetch carries the first request's; every other forwarded header (`accept-language`, `baggage`…)
 * is part of the key, since a subgraph may answer differently by it.
 */
const CORRELATION_HEADERS = new Set(['x-request-id', 'traceparent', 'tracestate']);

const principalKeys = new WeakMap<Principal, string>();

/** The sharing key of one subgraph request: principal, forwarded headers and body. */
export function sharingKey(principal: Principal, headers: Readonly<Record<string, string>>, body: string): string {
  let principalKey = principalKeys.get(principal);
  if (principalKey === undefined) {
    // Every own field, so a field added to Principal one day is part of the key without a change here.
    principalKey = JSON.stringify(principal);
    principalKeys.set(principal, principalKey);
  }
  const forwarded = Object.entries(headers)
    .filter(([name]) => !CORRELATION_HEADERS.has(name))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([principalKey, forwarded, body]);
}

/**
 * Only a fetch of a client query may be shared: the client's operation is a query and so is the fetch
 * (the planner writes `{ … }` or `query…`). A mutation — and every fetch planned for one, its payload's
 * entity fetches included — always makes its own.
 */
export function isShareable(options: GraphQLDataSourceProcessOptions<GatewayContext>): boolean {
  if (!('incomingRequestContext' in options)) return false;
  if (options.incomingRequestContext.operation?.operation !== 'query') return false;
  return /^\s*(\{|query\b)/.test(options.request.query ?? '');
}

interface Shared<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  callers: number;
}

export class FetchSharing<T> {
  readonly #inFlight = new Map<string, Shared<T>>();

  /** Fetches in flight that can still be joined. */
  get size(): number {
    return this.#inFlight.size;
  }

  /**
   * `fetch`'s answer, or that of the identical fetch in flight (then `onJoin` is called, and may return a
   * signal the joiner waits with instead of `signal`). The shared fetch's signal aborts only when every
   * caller has left — each leaves when its own signal aborts and gets that signal's reason at once — so a
   * fetch never outlives the last request waiting for it.
   */
  run(key: string, signal: AbortSignal | undefined, fetch: (signal: AbortSignal) => Promise<T>, onJoin: () => AbortSignal | void): Promise<T> {
    let shared = this.#inFlight.get(key);
    if (shared) signal = onJoin() ?? signal;
    else {
      const controller = new AbortController();
      const promise = fetch(controller.signal).finally(() => this.#forget(key, entry));
      const entry: Shared<T> = { promise, controller, callers: 0 };
      this.#inFlight.set(key, entry);
      shared = entry;
    }
    return this.#wait(key, shared, signal);
  }

  #wait(key: string, shared: Shared<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    shared.callers++;
    return new Promise<T>((resolve, reject) => {
      const leave = () => {
        reject(signal?.reason);
        if (--shared.callers === 0) {
          this.#forget(key, shared); // no one joins a fetch that is being cancelled
          shared.controller.abort(signal?.reason);
        }
      };
      signal?.addEventListener('abort', leave, { once: true });
      shared.promise.then(
        (value) => {
          signal?.removeEventListener('abort', leave);
          resolve(value);
        },
        (error: unknown) => {
          signal?.removeEventListener('abort', leave);
          reject(error);
        },
      );
    });
  }

  #forget(key: string, shared: Shared<T>): void {
    if (this.#inFlight.get(key) === shared) this.#inFlight.delete(key);
  }
}
