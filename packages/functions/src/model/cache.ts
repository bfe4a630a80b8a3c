import { createHash } from 'node:crypto';
import type { ResponseCache } from '@tessera/core';

/** core's contract; the worker's is @tessera/store's PostgresResponseCache */
export type { ResponseCache };

/** An in-process cache, for tests and single-process use. */
export class MemoryResponseCache implements ResponseCache {
  readonly map = new Map<string, string>();
  async get(key: string) {
    const v = this.map.get(key);
    return v === undefined ? undefined : JSON.parse(v);
  }
  async set(key: string, value: unknown) {
    this.map.set(key, JSON.stringify(value));
  }
}

export async function cacheGetMany(cache: ResponseCache, keys: string[]): Promise<Array<unknown | undefined>> {
  return cache.getMany ? cache.getMany(keys) : Promise.all(keys.map((k) => cache.get(k)));
}

export async function cacheSetMany(cache: ResponseCache, entries: Array<[string, unknown]>): Promise<void> {
  if (cache.setMany) return cache.setMany(entries);
  await Promise.all(entries.map(([k, v]) => cache.set(k, v)));
}

/** A stable hash of any JSON value (object keys sorted), for cache keys and UDF identities. */
export function stableHash(value: unknown, length = 32): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, length);
}

export function stableStringify(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

let defaultCache: ResponseCache | undefined;

/** The cache model UDFs use when their context brings none (a worker sets it at start). */
export function setDefaultResponseCache(cache: ResponseCache | undefined): void {
  defaultCache = cache;
}
export function getDefaultResponseCache(): ResponseCache | undefined {
  return defaultCache;
}
