/**
 * The gateway's per-request context (public API): built once by the HTTP front, after authentication and
 * before Apollo parses anything, then read by the plugins and by every subgraph fetch.
 */
import type { Principal } from './auth/principal.ts';
import type { Logger } from './log.ts';

export interface GatewayContext {
  /** The client's x-request-id when it is a safe token, else a fresh UUID; echoed in the response. */
  readonly requestId: string;
  /** Who the request is made for: a verified caller, or ANONYMOUS. */
  readonly principal: Principal;
  /** The gateway's logger with this request's id. */
  readonly log: Logger;
  /** The connection's remote address: whose budget an anonymous caller spends (docs/fleet.md "Rate limits"). */
  readonly clientAddress?: string | undefined;
  /** Aborts when `server.deadline` passes or the client disconnects: every subgraph fetch ends with it. */
  readonly signal?: AbortSignal;
  /**
   * What the operation met on its way, written by the rooms that saw it (a nested object: Apollo Server
   * hands plugins and data sources a shallow copy of the context). `subgraphFailed`: a subgraph fetch
   * answered SUBGRAPH_UNAVAILABLE, so the admission control leaves the operation out of its latency signal
   * (docs/overload.md).
   */
  readonly outcome?: { subgraphFailed: boolean };
}
