/**
 * How the API key method finds a record by its public id, and the file behind `store: file`.
 *
 * The file is polled (fs.watchFile: editors and `npm run apikey` replace it by rename) and swapped whole
 * when it changes, so a revoked key is refused within a second. A file that no longer parses fails closed:
 * every API key is answered 503 until it is fixed, rather than serving revoked keys from memory.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { AuthError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { parseKeyFile, type ApiKeyRecord } from './store.ts';

export interface ApiKeyLookup {
  /**
   * The record with this id, or undefined when there is none (or no id: a malformed key). Throws
   * AuthError.unavailable (503) when the store cannot answer: never "unknown" for "cannot tell".
   */
  find(id: string | undefined): ApiKeyRecord | undefined | Promise<ApiKeyRecord | undefined>;
  /** Stops watching. */
  close(): void;
}

/** How often the store file's mtime is checked, in ms: a revoked key is refused within about this. */
const POLL_MS = 500;

export function fileApiKeyLookup(file: string, log: Logger): ApiKeyLookup {
  let byId: Map<string, ApiKeyRecord> | undefined;
  const load = () => {
    try {
      byId = new Map(parseKeyFile(readFileSync(file, 'utf8')).keys.map((record) => [record.id, record]));
      log.info('API key store loaded', { file, keys: byId.size });
    } catch (error) {
      byId = undefined;
      log.error('API key store unreadable: every API key is refused with 503 until it is fixed', { file, error });
    }
  };
  load();
  const onChange = (current: { mtimeMs: number; size: number }, previous: { mtimeMs: number; size: number }) => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size) load();
  };
  watchFile(file, { interval: POLL_MS, persistent: false }, onChange);
  return {
    find(id) {
      if (!byId) throw AuthError.unavailable('API key store unreadable');
      return id === undefined ? undefined : byId.get(id);
    },
    close: () => unwatchFile(file, onChange),
  };
}
