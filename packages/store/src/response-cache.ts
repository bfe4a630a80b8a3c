import type { ResponseCache } from '@tessera/core';
import { ident } from './sql';
import type { Queryable } from './db';
import { forgetOldest } from './forget-oldest';

/** What the cache needs of a pg Pool (the store's). */
export type { Queryable } from './db';

export interface PostgresResponseCacheOptions {
  /** keys per SELECT; default 1000 */
  readChunk?: number;
  /** entries per INSERT; default 500 (an embedding is tens of KB of JSON) */
  writeChunk?: number;
}

type Waiter<T> = { resolve: (v: T) => void; reject: (e: unknown) => void };

/**
 * Answered model calls in Postgres, Tessera's record: a table `response_cache` in Tessera's schema,
 * keyed by the call key (model + parameters + input content hash), the answer as jsonb. Redis keeps
 * only work in flight, so the cache does not live there.
 *
 * Lookups are batched: `getMany`/`setMany` take one statement per chunk, and single `get`/`set`
 * calls made in the same turn of the event loop (the lanes of a per-row UDF) are coalesced into one.
 * Rows may be deleted at any time: a lost entry only costs a repeated call. The fleet's periodic
 * tick forgets answers older than TESSERA_RESPONSE_CACHE_KEEP_HOURS (see `forget`), so the cache
 * (an embedding is tens of KB) does not grow by an answer per row for ever.
 */
export class PostgresResponseCache implements ResponseCache {
  private readonly table: string;
  private readonly readChunk: number;
  private readonly writeChunk: number;
  private gets = new Map<string, Array<Waiter<unknown | undefined>>>();
  private sets = new Map<string, { value: unknown; waiters: Array<Waiter<void>> }>();
  private getScheduled = false;
  private setScheduled = false;

  /** `db` is the store's pool (or anything that runs its statements); the table comes with the store's migrations. */
  constructor(
    private readonly db: Queryable,
    schema: string,
    opts: PostgresResponseCacheOptions = {},
  ) {
    this.table = `${ident(schema)}.response_cache`;
    this.readChunk = opts.readChunk ?? 1000;
    this.writeChunk = opts.writeChunk ?? 500;
  }

  get(key: string): Promise<unknown | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.gets.get(key) ?? [];
      waiters.push({ resolve, reject });
      this.gets.set(key, waiters);
      if (!this.getScheduled) {
        this.getScheduled = true;
        setImmediate(() => void this.flushGets());
      }
    });
  }

  set(key: string, value: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = this.sets.get(key) ?? { value, waiters: [] };
      entry.value = value;
      entry.waiters.push({ resolve, reject });
      this.sets.set(key, entry);
      if (!this.setScheduled) {
        this.setScheduled = true;
        setImmediate(() => void this.flushSets());
      }
    });
  }

  async getMany(keys: string[]): Promise<Array<unknown | undefined>> {
    const found = new Map<string, unknown>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += this.readChunk) {
      // one key probe each: as `key = ANY($1)` Postgres scans the whole table while its statistics
      // are those of a smaller one, and a backfill grows it by an answer per row
      const { rows } = await this.db.query(
        `SELECT c.key, c.value FROM unnest($1::text[]) AS k(key), LATERAL (SELECT key, value FROM ${this.table} WHERE key = k.key LIMIT 1) c`,
        [unique.slice(i, i + this.readChunk)],
      );
      for (const r of rows) found.set(r.key as string, r.value);
    }
    return keys.map((k) => found.get(k));
  }

  async setMany(entries: Array<[string, unknown]>): Promise<void> {
    // one row per key (the last value wins): ON CONFLICT cannot touch a row twice in one statement
    const unique = [...new Map(entries.filter(([, v]) => v !== undefined)).entries()];
    for (let i = 0; i < unique.length; i += this.writeChunk) {
      const doc = JSON.stringify(unique.slice(i, i + this.writeChunk).map(([key, value]) => ({ key, value })));
      await this.db.query(
        `INSERT INTO ${this.table} (key, value)
         SELECT r.key, coalesce(r.value, 'null'::jsonb) FROM jsonb_to_recordset($1::jsonb) AS r(key text, value jsonb)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, created_at = now()`,
        [doc],
      );
    }
  }

  /**
   * Forget answers stored more than `olderThanMs` ago, oldest first, at most `batch` a statement and
   * `maxRows` a call (the caller comes back for the rest). The bounds are small because an answer can
   * be large (a request's embeddings are megabytes of JSON, deleted from TOAST chunk by chunk): a
   * backlog, as the first tick after an upgrade finds, drains over many ticks rather than in one
   * burst of writes. A call with nothing to forget costs one probe of the `created_at` index.
   * Returns how many were forgotten.
   */
  async forget(olderThanMs: number, batch = 200, maxRows = 10_000): Promise<number> {
    return forgetOldest(this.db, { table: this.table, orderBy: 'created_at' }, olderThanMs, batch, maxRows);
  }

  private async flushGets(): Promise<void> {
    this.getScheduled = false;
    const batch = this.gets;
    this.gets = new Map();
    const keys = [...batch.keys()];
    try {
      const values = await this.getMany(keys);
      keys.forEach((k, i) => batch.get(k)!.forEach((w) => w.resolve(values[i])));
    } catch (e) {
      for (const ws of batch.values()) ws.forEach((w) => w.reject(e));
    }
  }

  private async flushSets(): Promise<void> {
    this.setScheduled = false;
    const batch = this.sets;
    this.sets = new Map();
    try {
      await this.setMany([...batch].map(([k, e]) => [k, e.value]));
      for (const e of batch.values()) e.waiters.forEach((w) => w.resolve());
    } catch (err) {
      for (const e of batch.values()) e.waiters.forEach((w) => w.reject(err));
    }
  }
}
