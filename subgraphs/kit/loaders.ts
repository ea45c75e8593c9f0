import DataLoader from 'dataloader';

/**
 * A per-request DataLoader over a batch function that returns one result per key, in order, with
 * `undefined` for keys that have none. Create loaders in the context factory's `loaders` callback, never
 * at module level: a loader's cache must not outlive the request (nor cross users).
 */
export function createLoader<K, V>(
  batch: (keys: readonly K[]) => Promise<readonly (V | undefined)[]>,
  options: { maxBatchSize?: number } = {},
): DataLoader<K, V | null> {
  return new DataLoader<K, V | null>(
    async (keys) => {
      const results = await batch(keys);
      if (results.length !== keys.length) {
        throw new Error(`batch function returned ${results.length} results for ${keys.length} keys`);
      }
      return results.map((result) => result ?? null);
    },
    { maxBatchSize: options.maxBatchSize ?? 1_000 },
  );
}
