/** Config table: where the gateway listens, how it holds client and subgraph connections. */
import { boolean, duration, integer, list, map, oneOf, optionalSection, path, section, string, url } from './fields.ts';

/** HTTPS for clients; with `clientCa`, client certificates are requested and checked by the gateway itself. */
const listenTls = optionalSection(
  'HTTPS and mutual TLS (README "HTTPS and client certificates"); absent: plain HTTP.',
  {
    cert: path({ defaultText: 'off (plain HTTP)', mustExist: 'point it at a PEM certificate chain', doc: 'PEM certificate chain; reloaded when it changes (rotation without restart)' }),
    key: path({ defaultText: 'off', mustExist: 'point it at the PEM private key', doc: 'PEM private key of `cert`; reloaded with it' }),
    clientCa: path({ defaultText: 'none', mustExist: 'point it at a PEM CA bundle', doc: 'PEM CA bundle client certificates must chain to; set: a certificate is requested (never a TLS alert: failures are JSON 401s)' }),
    clientCert: oneOf(['optional', 'required'] as const, { default: 'optional', doc: '`required`: a request without a valid client certificate is a 401' }),
  },
  ({ cert, key, clientCa, clientCert }, { key: at, problem }) => {
    if ((cert === undefined) !== (key === undefined)) problem(`${at}: give both cert and key, or neither`);
    if (cert === undefined || key === undefined) {
      if (clientCa !== undefined) problem(`${at}.clientCa: client certificates need HTTPS; set ${at}.cert and ${at}.key`);
      return undefined;
    }
    if (clientCert === 'required' && clientCa === undefined) problem(`${at}.clientCert: "required" needs ${at}.clientCa`);
    return { cert, key, clientCa, clientCert };
  },
);

/** TLS towards a subgraph: whom to trust, and the client certificate the gateway presents (mTLS). */
const subgraphTls = (doc: string) =>
  optionalSection(
    doc,
    {
      ca: path({ defaultText: "Node's CA store", mustExist: 'point it at a PEM CA bundle', doc: 'PEM CA bundle the subgraph\'s certificate must chain to' }),
      cert: path({ defaultText: 'none', mustExist: 'point it at a PEM certificate', doc: 'PEM client certificate the gateway presents (mutual TLS)' }),
      key: path({ defaultText: 'none', mustExist: 'point it at a PEM private key', doc: 'PEM private key of `cert`' }),
    },
    ({ ca, cert, key }, { key: at, problem }) => {
      if ((cert === undefined) !== (key === undefined)) problem(`${at}: give both cert and key, or neither`);
      return ca === undefined && cert === undefined && key === undefined ? undefined : { ca, cert, key };
    },
  );

export const listen = section('Where the gateway accepts requests.', {
  host: string({ default: '127.0.0.1', doc: 'address to bind' }),
  port: integer({ default: 4000, min: 0, max: 65_535, doc: 'TCP port (0: any free port)' }),
  tls: listenTls,
});

/** Node's HTTP server options; the defaults are what the gateway has always used. */
export const server = section('Client connections (Node HTTP server options).', {
  keepAliveTimeout: duration({
    default: '65s',
    min: '1s',
    max: '10m',
    doc: 'idle time before a client connection is closed; keep it above the idle timeout of the load balancer in front (60s on AWS ALB)',
  }),
  requestTimeout: duration({
    default: '60s',
    min: '1s',
    max: '1h',
    doc: 'longest time to receive a whole request from a client (headers and body); slower ones get 408 `REQUEST_TIMEOUT` and the connection is closed',
  }),
  headersTimeout: duration({
    default: '10s',
    min: '1s',
    max: '5m',
    doc: 'longest time to receive the request line and headers (Node `headersTimeout`); slower ones (slowloris) get 408 `REQUEST_TIMEOUT` and are closed; at most `server.requestTimeout`',
  }),
  bodyTimeout: duration({
    default: '10s',
    min: '100ms',
    max: '1h',
    doc: 'longest time to read a request body once the gateway starts reading it (after authentication); slower ones get 408 `REQUEST_TIMEOUT` and are closed',
  }),
  deadline: duration({
    default: '30s',
    min: '100ms',
    max: '1h',
    doc: 'longest time an admitted operation may run: subgraph fetches still running then are aborted (`SUBGRAPH_UNAVAILABLE`, partial data); a client that disconnects aborts them at once',
  }),
  maxHeaderBytes: integer({
    default: 16_384,
    min: 4_096,
    max: 65_536,
    unit: 'bytes',
    doc: 'largest request head (request line and headers); larger ones get 431 before any other check',
  }),
});

export const supergraph = path({
  default: 'schema/supergraph.graphql',
  mustExist: 'run `npm run compose`',
  doc: 'supergraph SDL; reloaded when the file changes (a bad one is refused, the old one keeps serving)',
});

export const subgraphs = map(
  '<name>',
  section('Per-subgraph overrides.', {
    url: url({ defaultText: "the supergraph's routing URL", doc: 'override per subgraph; an unknown name fails at boot' }),
    timeout: duration({ defaultText: '`subgraphDefaults.timeout`', min: '1ms', doc: 'per-subgraph request timeout' }),
    concurrency: integer({ defaultText: '`subgraphDefaults.concurrency`', min: 1, max: 10_000, doc: 'per-subgraph limit of fetches in flight' }),
    queueTimeout: duration({ defaultText: '`subgraphDefaults.queueTimeout`', min: '1ms', max: '1m', doc: 'per-subgraph wait for a concurrency slot: raise it for a subgraph whose fetches take longer than the default under load' }),
    tls: subgraphTls('TLS to this subgraph (https URLs), replacing `subgraphDefaults.tls`.'),
  }),
  { doc: 'overrides of the supergraph routing, by subgraph name' },
);

export const subgraphDefaults = section('How every subgraph is called.', {
  timeout: duration({
    default: '10s',
    min: '1ms',
    doc: 'subgraph request timeout, from the fetch being issued (a wait for a concurrency slot included) to the last byte; never past `server.deadline` or the client leaving',
  }),
  concurrency: integer({
    defaultText: 'half of the admission bound in force (`admission.maxInFlight`, lower while the adaptive bound is)',
    min: 1,
    max: 10_000,
    doc: 'most fetches in flight to one subgraph: a subgraph that stalls holds at most this many operations, the others keep their slots (docs/overload.md)',
  }),
  queueTimeout: duration({
    default: '250ms',
    min: '1ms',
    max: '1m',
    doc: 'longest wait for a concurrency slot of a subgraph; then that fetch fails at once with `SUBGRAPH_UNAVAILABLE` (partial data). Also how long a stalled subgraph takes to be learned: every slot taken and no answer for this long (docs/overload.md)',
  }),
  breaker: section('The circuit breaker in front of each subgraph (docs/overload.md).', {
    failures: integer({
      default: 5,
      min: 0,
      max: 1_000,
      doc: 'consecutive failures (errors, timeouts, 5xx, 429) that open the breaker: its fetches then fail at once with `SUBGRAPH_UNAVAILABLE`; `0`: no breaker',
    }),
    coolDown: duration({ default: '5s', min: '100ms', max: '10m', doc: 'how long an open breaker fails fast before one probe fetch is let through (half-open)' }),
  }),
  dedup: boolean({
    default: true,
    doc: 'identical query fetches in flight to one subgraph for the same principal and forwarded headers share one fetch (never mutations)',
  }),
  maxConnections: integer({ default: 64, min: 1, max: 10_000, doc: 'keep-alive connections per subgraph (pooled, undici)' }),
  keepAliveTimeout: duration({
    default: '30s',
    min: '1s',
    max: '10m',
    doc: "idle time before a pooled subgraph connection is closed; keep it below the subgraphs' own keep-alive timeout",
  }),
  maxResponseBytes: integer({
    default: 33_554_432,
    min: 1_024,
    max: 1_073_741_824,
    unit: 'bytes',
    doc: 'largest subgraph response, chunked ones included; a larger one fails that subgraph call',
  }),
  tls: subgraphTls('TLS to https subgraphs: trusted CA and the client certificate the gateway presents.'),
});

export const forwardHeaders = list(string({ lowerCase: true, doc: 'header name' }), {
  default: ['x-request-id', 'traceparent', 'tracestate', 'baggage', 'accept-language'],
  doc: 'the only client headers forwarded; identity-bearing and hop-by-hop headers (`authorization`, `cookie`, `x-user*`, `x-forwarded-*`, the identity header…) are refused at boot',
});
