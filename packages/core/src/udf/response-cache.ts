/**
 * Where answered model calls are kept, by a key of model + parameters + input content hash, so a
 * call already answered is not made again. @tessera/runtime keeps it in Postgres, Tessera's record
 * (PostgresResponseCache); @tessera/functions has an in-process one. Values are JSON.
 */
export interface ResponseCache {
  get(key: string): Promise<unknown | undefined>;
  set(key: string, value: unknown): Promise<void>;
  /** many keys in one round trip (a batch of embeddings) */
  getMany?(keys: string[]): Promise<Array<unknown | undefined>>;
  setMany?(entries: Array<[string, unknown]>): Promise<void>;
}

/**
 * How a call uses the cache: `use` answers from it when it can; `refresh` makes a fresh call and
 * stores the new answer (`tessera recompute --fresh`); `off` neither reads nor writes it.
 */
export type CacheMode = 'use' | 'refresh' | 'off';
