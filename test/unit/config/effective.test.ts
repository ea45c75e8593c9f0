/** What `gateway check` prints: the effective config, secrets masked (gateway/config/effective.ts). */
import { describe, expect, it } from 'vitest';
import { effectiveConfig, MASK } from '../../../gateway/config/effective.ts';
import { boolean, duration, integer, list, path, section, string } from '../../../gateway/config/table/fields.ts';

const table = section('test', {
  port: integer({ default: 4000, min: 0, max: 65_535, doc: 'port' }),
  debug: boolean({ default: false, doc: 'debug' }),
  timeout: duration({ default: '10s', doc: 'timeout' }),
  note: string({ doc: 'optional, no default' }),
  clients: list(section('client', { id: string({ required: 'an id', doc: 'id' }), secret: string({ secret: true, doc: 'client secret' }), keyFile: path({ doc: 'key file' }) }), { doc: 'clients' }),
});

describe('effective config', () => {
  it('fills in defaults, keeps what was given, converts ${ENV} strings and resolves paths', () => {
    expect(effectiveConfig(table, { port: '8080', debug: 'true', clients: [{ id: 'a', keyFile: 'keys/a.pem' }] }, '/etc/frontdesk')).toEqual({
      port: 8080,
      debug: true,
      timeout: '10s',
      clients: [{ id: 'a', keyFile: '/etc/frontdesk/keys/a.pem' }],
    });
  });

  it('masks every value the table marks secret', () => {
    const shown = effectiveConfig(table, { clients: [{ id: 'a', secret: 's3cr3t-value' }, { id: 'b', secret: 'other' }] }, '/');
    expect(shown).toMatchObject({ clients: [{ id: 'a', secret: MASK }, { id: 'b', secret: MASK }] });
    expect(JSON.stringify(shown)).not.toMatch(/s3cr3t-value|other/);
  });
});
