/**
 * `npm run revoke -- --sub <namespace>:<subject> | --jti <id> | --api-key <id> | --sid <sid> [--config gateway.yaml]`:
 * revokes across the fleet (docs/fleet.md "Revocation"). It reads the gateway's config with the loader
 * of `npm run gateway -- check`; with `store.redis` it writes the revocation to Redis itself (the
 * persisted list, and a message every instance applies at once); without, it asks the admin endpoint of
 * the one gateway (`POST /admin/revocations` on `metrics.listen`, bearer `admin.token`; `--admin-url`
 * overrides where). Prints the revocation as JSON; exit 0 done, 1 not done, 2 bad usage or config.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../gateway/config/load.ts';
import type { GatewayConfig } from '../gateway/config/types.ts';
import { createLogger } from '../gateway/log.ts';
import { persistRevocations } from '../gateway/revocation/fleet.ts';
import { isRevocationId, revocationJson, type Revocation, type RevocationKind } from '../gateway/revocation/list.ts';
import { lifetimeOf } from '../gateway/revocation/revocations.ts';
import { connectSharedStore } from '../gateway/store/redis.ts';

const USAGE = `usage: npm run revoke -- --sub <namespace>:<subject> | --jti <id> | --api-key <id> | --sid <sid>
options: --config <gateway.yaml> (default $FRONTDESK_CONFIG or gateway.yaml)
         --admin-url <http://host:port/admin/revocations> (without store.redis; default from metrics.listen)
`;
const KINDS: Record<string, RevocationKind> = { sub: 'sub', jti: 'jti', 'api-key': 'api-key', sid: 'sid' };

function fail(code: 1 | 2, message: string): never {
  process.stderr.write(`revoke: ${message}\n`);
  process.exit(code);
}

let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    options: { sub: { type: 'string' }, jti: { type: 'string' }, 'api-key': { type: 'string' }, sid: { type: 'string' }, config: { type: 'string' }, 'admin-url': { type: 'string' } },
  }));
} catch (error) {
  fail(2, `${(error as Error).message}\n${USAGE}`);
}
const chosen = Object.keys(KINDS).filter((name) => values[name] !== undefined);
if (chosen.length !== 1) fail(2, `give exactly one of --sub, --jti, --api-key, --sid\n${USAGE}`);
const kind = KINDS[chosen[0] as string] as RevocationKind;
const id = values[chosen[0] as string] as string;
if (!isRevocationId(id)) fail(2, 'the id must be 1-512 characters without control characters');
if (kind === 'sub' && !id.includes(':')) fail(2, '--sub takes <namespace>:<subject> (the principal id without its method, e.g. shop:u2)');

const configPath = values.config ?? process.env.FRONTDESK_CONFIG ?? 'gateway.yaml';
let config: GatewayConfig;
try {
  config = loadConfigFile(configPath, { env: process.env });
} catch (error) {
  if (error instanceof ConfigError) fail(2, error.message);
  throw error;
}

const at = Date.now();
const entry: Revocation = { kind, id, at, until: at + lifetimeOf(kind, config) };

if (config.store) {
  const shared = await connectSharedStore(config.store.redis, createLogger({ level: 'silent' }));
  try {
    if (!shared.available()) fail(1, 'Redis is unreachable: nothing revoked (the admin endpoint of each instance still works)');
    await persistRevocations(shared.redis, shared.keyPrefix, [entry]);
  } catch (error) {
    fail(1, `Redis refused the write: ${(error as Error).message}; nothing revoked`);
  } finally {
    await shared.close();
  }
  process.stdout.write(`${JSON.stringify({ revoked: JSON.parse(revocationJson(entry)) as unknown, via: 'redis' })}\n`);
} else {
  const { host, port } = config.metrics.listen;
  const url = values['admin-url'] ?? (port === undefined ? undefined : `http://${host.includes(':') ? `[${host}]` : host}:${port}/admin/revocations`);
  if (url === undefined) fail(2, 'no store.redis and no metrics.listen.port: give --admin-url');
  if (config.admin.token === undefined) fail(2, 'no store.redis and no admin.token: the admin endpoint is off');
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.admin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind, id }),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (error) {
    fail(1, `the admin endpoint ${url} is unreachable (${(error as Error).message}); nothing revoked`);
  }
  const text = await response.text();
  if (response.status !== 200) fail(1, `the admin endpoint answered ${response.status}: ${text.slice(0, 300)}`);
  process.stdout.write(`${JSON.stringify({ ...(JSON.parse(text) as object), via: url })}\n`);
}
