/**
 * `npm run apikey -- <command>`: manages the API key store file (README "API keys").
 *
 *   create --name ci-bot [--owner ci-bot] [--scope products:read]… [--role r]… [--tenant t] [--expires 2026-12-31]
 *   list
 *   revoke <id>
 *   rotate <id> [--grace 24h]
 *
 * `--file` (default: FRONTDESK_API_KEYS or .dev/api-keys.yaml) names the store. A created or rotated key is
 * printed once on stdout; only its SHA-256 is kept.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../gateway/auth/api-keys/manage.ts';
import { parseDuration } from '../gateway/config/duration.ts';

const USAGE = `usage: npm run apikey -- create --name <name> [--owner <subject>] [--scope <s>]… [--role <r>]… [--tenant <t>] [--expires <date>]
       npm run apikey -- list
       npm run apikey -- revoke <id>
       npm run apikey -- rotate <id> [--grace 24h]
options: --file <store.yaml> (default $FRONTDESK_API_KEYS or .dev/api-keys.yaml)
`;

const { values, positionals } = parseArgs({
  options: {
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
const file = values.file ?? process.env.FRONTDESK_API_KEYS ?? '.dev/api-keys.yaml';
const [command, id] = positionals;

try {
  switch (command) {
    case 'create': {
      if (!values.name) throw new Error('create needs --name');
      mkdirSync(dirname(file), { recursive: true });
      const { key, record } = createApiKey(file, {
        name: values.name,
        ...(values.owner ? { owner: values.owner } : {}),
        scopes: values.scope ?? [],
        roles: values.role ?? [],
        ...(values.tenant ? { tenant: values.tenant } : {}),
        ...(values.expires ? { expiresAt: values.expires } : {}),
      });
      process.stderr.write(`created key ${record.id} (${record.name}, owner ${record.owner}) in ${file}; it is shown once:\n`);
      process.stdout.write(`${key}\n`);
      break;
    }
    case 'list':
      for (const key of listApiKeys(file)) {
        const state = key.revoked ? 'revoked' : key.expiresAt && Date.parse(key.expiresAt) <= Date.now() ? 'expired' : 'active';
        process.stdout.write(`${key.id}  ${state.padEnd(7)}  ${key.name}  owner=${key.owner}  scopes=${key.scopes.join(',') || '-'}  roles=${key.roles.join(',') || '-'}${key.expiresAt ? `  expires=${key.expiresAt}` : ''}${key.secrets > 1 ? `  (${key.secrets} secrets: rotation grace)` : ''}\n`);
      }
      break;
    case 'revoke':
      if (!id) throw new Error('revoke needs the key id');
      revokeApiKey(file, id);
      process.stderr.write(`revoked ${id}; the gateway refuses it within a second\n`);
      break;
    case 'rotate': {
      if (!id) throw new Error('rotate needs the key id');
      const graceMs = parseDuration(values.grace ?? '24h');
      if (graceMs === undefined) throw new Error('--grace: a duration such as 1h or 24h');
      const key = rotateApiKey(file, id, graceMs);
      process.stderr.write(`rotated ${id}: the old secret works for ${values.grace ?? '24h'} more; the new key is shown once:\n`);
      process.stdout.write(`${key}\n`);
      break;
    }
    default:
      process.stderr.write(USAGE);
      process.exit(2);
  }
} catch (error) {
  process.stderr.write(`apikey: ${(error as Error).message}\n`);
  process.exit(1);
}
