/**
 * Config table: shared state for a fleet of gateway instances (docs/fleet.md). Absent, every instance
 * keeps its own state in memory — right for one instance and for `npm start`.
 */
import { duration, optionalSection, path, string } from './fields.ts';

const redisTls = optionalSection(
  'TLS towards Redis (with a `rediss://` URL): whom to trust and the client certificate to present.',
  {
    ca: path({ defaultText: "Node's CA store", mustExist: 'point it at a PEM CA bundle', doc: "PEM CA bundle Redis's certificate must chain to" }),
    cert: path({ defaultText: 'none', mustExist: 'point it at a PEM certificate', doc: 'PEM client certificate the gateway presents (mutual TLS)' }),
    key: path({ defaultText: 'none', mustExist: 'point it at a PEM private key', doc: 'PEM private key of `cert`' }),
  },
  ({ ca, cert, key }, { key: at, problem }) => {
    if ((cert === undefined) !== (key === undefined)) problem(`${at}: give both cert and key, or neither`);
    return ca === undefined && cert === undefined && key === undefined ? undefined : { ca, cert, key };
  },
);

export const store = optionalSection(
  'Shared state (docs/fleet.md): rate-limit budgets, revocations, sessions, API keys. Absent: each instance keeps its own, in memory.',
  {
    redis: optionalSection(
      'One Redis (or a managed Redis-compatible service) that every instance of the fleet uses.',
      {
        url: string({
          defaultText: 'off (state in memory)',
          pattern: '^rediss?://[^\\s]+$',
          patternProblem: 'must be redis://[user:password@]host:port[/db], or rediss:// for TLS',
          secret: true,
          doc: '`redis://[user:password@]host:port[/db]`, `rediss://` for TLS; put the password in `${VAR}`; never logged',
        }),
        keyPrefix: string({
          default: 'frontdesk:',
          pattern: '^[A-Za-z0-9_.:{}-]{1,64}$',
          patternProblem: 'must be 1-64 letters, digits or _ . : { } -',
          doc: 'prefix of every key and channel; the instances of one fleet share it, two fleets on one Redis must not',
        }),
        tls: redisTls,
        timeout: duration({ default: '250ms', min: '10ms', max: '10s', doc: 'longest wait for one Redis command; past it the command fails and the feature applies its rule for an unavailable store' }),
        connectTimeout: duration({ default: '2s', min: '100ms', max: '1m', doc: 'longest wait for a connection (at boot and on each reconnect attempt)' }),
      },
      ({ url, tls, ...rest }, { key: at, problem }) => {
        if (url === undefined) {
          if (tls !== undefined) problem(`${at}.tls: set ${at}.url too`);
          return undefined;
        }
        if (tls !== undefined && !url.startsWith('rediss://')) problem(`${at}.tls: needs a rediss:// URL`);
        return { url, tls, ...rest };
      },
    ),
  },
  ({ redis }) => (redis === undefined ? undefined : { redis }),
);
