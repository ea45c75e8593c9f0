/** The operations keys of the config table (gateway/config/table/observability.ts): bounds, forms, masking. */
import { describe, expect, it } from 'vitest';
import { effectiveConfig, MASK } from '../../../gateway/config/effective.ts';
import { parseConfig } from '../../../gateway/config/load.ts';
import { CONFIG_TABLE } from '../../../gateway/config/table/index.ts';
import { SUPERGRAPH } from '../../support/stack.ts';

const base = { supergraph: SUPERGRAPH, identity: { issuer: 'https://gw', keys: [{ file: '/k.json' }], devKeys: true } };
const problemsOf = (raw: Record<string, unknown>, env: Record<string, string> = {}): string[] => {
  try {
    parseConfig({ ...base, ...raw }, { env });
    return [];
  } catch (error) {
    return [...(error as { problems: string[] }).problems];
  }
};

describe('metrics, tracing, logFormat and shutdownDelay', () => {
  it('reads a full operations section, ${ENV} strings included', () => {
    const config = parseConfig(
      {
        ...base,
        logFormat: 'pretty',
        metrics: { listen: { host: '0.0.0.0', port: '${METRICS_PORT}' } },
        tracing: { otlp: { endpoint: 'http://collector:4318/v1/traces', headers: ['x-api-key=${OTLP_KEY}'] }, sampler: { ratio: '${RATIO}' } },
        shutdownDelay: '15s',
      },
      { env: { METRICS_PORT: '9464', OTLP_KEY: 'k-123', RATIO: '0.25' } },
    );
    expect(config.metrics).toEqual({ listen: { host: '0.0.0.0', port: 9464 } });
    expect(config.tracing).toEqual({ otlp: { endpoint: 'http://collector:4318/v1/traces', headers: ['x-api-key=k-123'], protocol: 'http/protobuf' }, sampler: { ratio: 0.25 } });
    expect(config.logFormat).toBe('pretty');
    expect(config.shutdownDelayMs).toBe(15_000);
  });

  it('reports every bad value with its key', () => {
    expect(
      problemsOf({
        logFormat: 'xml',
        metrics: { listen: { port: 70_000 } },
        tracing: { otlp: { endpoint: 'collector:4318', headers: ['no-equals-sign'], protocol: 'grpc' }, sampler: { ratio: 1.5 } },
        shutdownDelay: '10m',
      }),
    ).toEqual([
      'logFormat: expected one of json, pretty, got string "xml"',
      'metrics.listen.port: expected an integer from 0 to 65535, got number 70000',
      'tracing.otlp.endpoint: expected an http(s) URL, got string "collector:4318"',
      'tracing.otlp.headers[0]: "no-equals-sign" must be `name=value`',
      'tracing.otlp.protocol: expected one of http/protobuf, http/json, got string "grpc"',
      'tracing.sampler.ratio: expected a number from 0 to 1, got number 1.5',
      'shutdownDelay: at most 5m, got string "10m"',
    ]);
    expect(problemsOf({ tracing: { sampler: { ratio: 'half' } } })).toEqual(['tracing.sampler.ratio: expected a number from 0 to 1, got string "half"']);
  });

  it('masks the exporter headers in `gateway check` (they carry vendor API keys)', () => {
    const shown = effectiveConfig(CONFIG_TABLE, { ...base, tracing: { otlp: { endpoint: 'https://otlp.example/v1/traces', headers: ['authorization=Bearer xyz'] } } }, '/') as {
      tracing: { otlp: { headers: unknown; endpoint: string; protocol: string }; sampler: { ratio: number } };
    };
    expect(shown.tracing).toEqual({ otlp: { endpoint: 'https://otlp.example/v1/traces', headers: MASK, protocol: 'http/protobuf' }, sampler: { ratio: 0.1 } });
  });
});
