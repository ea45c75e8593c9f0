/**
 * `npm run apikey -- [--config gateway.yaml | --file store.yaml] <command>`: manages the API keys
 * (README "API keys").
 *
 *   create --name ci-bot [--owner ci-bot] [--scope products:read]… [--role r]… [--tenant t] [--expires 2026-12-31]
 *   list
 *   revoke <id>
 *   rotate <id> [--grace 24h]
 *   import <store.yaml>      (with --config and auth.apiKeys.store: redis) copies a file's keys into Redis
 *
 * `--config` reads the gateway's config and works on its store: the file, or with
 * `auth.apiKeys.store: redis` the fleet's Redis (`store.redis`, docs/fleet.md "Shared API keys"), where a
 * change reaches every gateway at once. Without it, `--file` (default: FRONTDESK_API_KEYS or
 * .dev/api-keys.yaml) names the store file. A created or rotated key is printed once on stdout; only its
 * SHA-256 is kept.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey, type CreateOptions } from '../gateway/auth/api-keys/manage.ts';
import {
  createApiKeyInRedis,
  importApiKeysToRedis,
  listApiKeysInRedis,
  revokeApiKeyInRedis,
  rotateApiKeyInRedis,
} from '../gateway/auth/api-keys/redis-records.ts';
import type { ApiKeyRecord } from '../gateway/auth/api-keys/store.ts';
import { loadConfigFile } from '../gateway/config/load.ts';
import { parseDuration } from '../gateway/config/duration.ts';
import { createLogger } from '../gateway/log.ts';
import { connectSharedStore } from '../gateway/store/redis.ts';

const USAGE = `usage: npm run apikey -- [--config <gateway.yaml> | --file <store.yaml>] <command>
       create --name <name> [--owner <subject>] [--scope <s>]… [--role <r>]… [--tenant <t>] [--expires <date>]
       list
       revoke <id>
       rotate <id> [--grace 24h]
       import <store.yaml>      copies a key file into Redis (--config with auth.apiKeys.store: redis)
--config: the gateway's key store (its file, or Redis with auth.apiKeys.store: redis)
--file:   a key store file (default $FRONTDESK_API_KEYS or .dev/api-keys.yaml)
`;

/** One store's operations, whichever it is. */
interface KeyStore {
  readonly where: string;
  create(options: CreateOptions): Promise<{ key: string; record: ApiKeyRecord }>;
  /** Never a secret: how many hashes a key has (more than one during a rotation's grace). */
  list(): Promise<Array<Omit<ApiKeyRecord, 'secrets'> & { secrets: number }>>;
  revoke(id: string): Promise<void>;
  rotate(id: string, graceMs: number): Promise<string>;
  import?(file: string): Promise<{ imported: string[]; skipped: string[] }>;
  close(): Promise<void>;
}

function fileStore(file: string): KeyStore {
  return {
    where: file,
    async create(options) {
      mkdirSync(dirname(file), { recursive: true });
      return createApiKey(file, options);
    },
    list: async () => listApiKeys(file),
    revoke: async (id) => revokeApiKey(file, id),
    rotate: async (id, graceMs) => rotateApiKey(file, id, graceMs),
    close: async () => {},
  };
}

async function configuredStore(configFile: string): Promise<KeyStore> {
  const config = loadConfigFile(configFile, { env: process.env });
  const apiKeys = config.auth.apiKeys;
  if (!apiKeys) throw new Error(`${configFile} configures no API keys (auth.apiKeys)`);
  if (apiKeys.store === 'file') return fileStore(apiKeys.file);
  const redisConfig = config.store?.redis;
  if (!redisConfig) throw new Error(`${configFile}: auth.apiKeys.store: redis needs store.redis`);
  const shared = await connectSharedStore(redisConfig, createLogger({ level: 'error' }));
  if (!shared.available()) {
    await shared.close();
    throw new Error(`Redis (store.redis in ${configFile}) is not reachable; nothing was changed`);
  }
  return {
    where: `Redis (prefix ${shared.keyPrefix})`,
    create: (options) => createApiKeyInRedis(shared, options),
    list: async () => (await listApiKeysInRedis(shared)).map(({ secrets, ...record }) => ({ ...record, secrets: secrets.length })),
    revoke: (id) => revokeApiKeyInRedis(shared, id),
    rotate: (id, graceMs) => rotateApiKeyInRedis(shared, id, graceMs),
    import: (file) => importApiKeysToRedis(shared, file),
    close: () => shared.close(),
  };
}

const { values, positionals } = parseArgs({
  options: {
    config: { type: 'string' },
    file: { type: 'string' },
    name: { type: 'string' },
    owner: { type: 'string' },
    scope: { type: 'string', multiple: true },
    role: { type: 'string', multiple: true },
    tenant: { type: 'string' },
    expires: { type: 'string' },
    grace: { type: 'string' },
  },
  allowPositionals: true,
});
const [command, id] = positionals;
if (!['create', 'list', 'revoke', 'rotate', 'import'].includes(command ?? '') || (values.config !== undefined && values.file !== undefined)) {
  process.stderr.write(USAGE);
  process.exit(2);
}

let store: KeyStore | undefined;
try {
  store = values.config !== undefined ? await configuredStore(values.config) : fileStore(values.file ?? process.env.FRONTDESK_API_KEYS ?? '.dev/api-keys.yaml');
  switch (command) {
    case 'create': {
      if (!values.name) throw new Error('create needs --name');
      const { key, record } = await store.create({
        name: values.name,
        ...(values.owner ? { owner: values.owner } : {}),
        scopes: values.scope ?? [],
        roles: values.role ?? [],
        ...(values.tenant ? { tenant: values.tenant } : {}),
        ...(values.expires ? { expiresAt: values.expires } : {}),
      });
      process.stderr.write(`created key ${record.id} (${record.name}, owner ${record.owner}) in ${store.where}; it is shown once:\n`);
      process.stdout.write(`${key}\n`);
      break;
    }
    case 'list':
      for (const key of await store.list()) {
        const state = key.revoked ? 'revoked' : key.expiresAt && Date.parse(key.expiresAt) <= Date.now() ? 'expired' : 'active';
        process.stdout.write(`${key.id}  ${state.padEnd(7)}  ${key.name}  owner=${key.owner}  scopes=${key.scopes.join(',') || '-'}  roles=${key.roles.join(',') || '-'}${key.expiresAt ? `  expires=${key.expiresAt}` : ''}${key.secrets > 1 ? `  (${key.secrets} secrets: rotation grace)` : ''}\n`);
      }
      break;
    case 'revoke':
      if (!id) throw new Error('revoke needs the key id');
      await store.revoke(id);
      process.stderr.write(`revoked ${id}; the gateway refuses it within a second\n`);
      break;
    case 'rotate': {
      if (!id) throw new Error('rotate needs the key id');
      const graceMs = parseDuration(values.grace ?? '24h');
      if (graceMs === undefined) throw new Error('--grace: a duration such as 1h or 24h');
      const key = await store.rotate(id, graceMs);
      process.stderr.write(`rotated ${id}: the old secret works for ${values.grace ?? '24h'} more; the new key is shown once:\n`);
      process.stdout.write(`${key}\n`);
      break;
    }
    case 'import': {
      if (!id) throw new Error('import needs the key store file to copy');
      if (!store.import) throw new Error('import copies a key file into Redis: give --config with auth.apiKeys.store: redis');
      const { imported, skipped } = await store.import(id);
      process.stderr.write(`imported ${imported.length} key(s) from ${id} into ${store.where}${skipped.length > 0 ? `; left ${skipped.length} already there as they are: ${skipped.join(', ')}` : ''}\n`);
      break;
    }
  }
} catch (error) {
  process.stderr.write(`apikey: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await store?.close();
}
