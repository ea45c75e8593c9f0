/** Config table: what an operator sees — the Prometheus listener and OpenTelemetry traces (docs/production.md). */
import { integer, list, number, oneOf, section, string, url } from './fields.ts';

/** The OTLP/HTTP encodings (the values of OTEL_EXPORTER_OTLP_PROTOCOL that travel over HTTP). */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;

export const metrics = section('Prometheus metrics, on a listener of their own (never the public port).', {
  listen: section('Where `GET /metrics` is served.', {
    host: string({ default: '127.0.0.1', doc: 'address the metrics listener binds; keep it off the public network' }),
    port: integer({ defaultText: 'off', min: 0, max: 65_535, doc: 'port of `GET /metrics` (0: any free port); absent: no metrics listener and no metrics collected' }),
  }),
});

export const tracing = section('OpenTelemetry traces, exported over OTLP/HTTP.', {
  otlp: section('The OTLP/HTTP trace exporter.', {
    endpoint: url({ defaultText: 'off', doc: 'OTLP/HTTP traces URL, e.g. `http://collector:4318/v1/traces`; absent: tracing off (no SDK, no spans, nothing on the request path)' }),
    headers: list(
      string({ pattern: '^[A-Za-z0-9-]+=.+$', patternProblem: 'must be `name=value`', doc: 'a header as `name=value`' }),
      { default: [], secret: true, doc: 'headers sent with every export (`name=value`, e.g. an API key of the tracing vendor); never logged' },
    ),
    protocol: oneOf(OTLP_PROTOCOLS, {
      default: 'http/protobuf',
      doc: "the body's encoding: binary protobuf (OTLP's default, written by frontdesk's own encoder: less CPU per sampled request than JSON, `npm run bench:tracing`) or JSON, for a receiver that takes only JSON",
    }),
  }),
  sampler: section('Which traces are recorded.', {
    ratio: number({ default: 0.1, min: 0, max: 1, doc: "share of new traces recorded (parent-based: a client's sampled or unsampled decision is followed)" }),
  }),
});
