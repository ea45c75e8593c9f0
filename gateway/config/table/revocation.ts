/**
 * Config table: revocations (docs/fleet.md "Revocation") and the admin endpoint of the metrics listener
 * that accepts them. The list is kept in memory on every instance, in Redis too with `store.redis`.
 */
import { duration, integer, section, string } from './fields.ts';

export const revocation = section('Revocations: credentials refused although they verify (docs/fleet.md "Revocation").', {
  retention: duration({
    defaultText: 'the longest of `auth.jwt[].maxLifetime` and `sessions.maxAge` (at least 24h)',
    min: '1m',
    doc: 'how long a `sub` or `jti` revocation is kept: at least the lifetime of any credential it may refuse',
  }),
  maxEntries: integer({
    default: 100_000,
    min: 1,
    max: 10_000_000,
    doc: 'entries kept in memory on each instance; when full a new revocation is refused (503), never a live one forgotten',
  }),
});

export const admin = section('The admin endpoints on the metrics listener (`metrics.listen`), never on the public one.', {
  token: string({
    defaultText: 'off (no admin endpoint)',
    secret: true,
    pattern: '^[\\x21-\\x7e]{32,512}$',
    patternProblem: 'must be 32-512 visible ASCII characters (e.g. `openssl rand -hex 32`)',
    doc: 'bearer token of `POST /admin/revocations` (needs `metrics.listen.port`); use `${VAR}`, never logged',
  }),
});
