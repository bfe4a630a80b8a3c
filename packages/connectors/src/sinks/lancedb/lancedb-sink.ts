import type { Connection } from '@lancedb/lancedb';
import { TesseraError, TransientError, type ExportRow, type ExportSchema, type ExportSink } from '@tessera/core';
import { checkIdentifier } from '../../sql/identifiers';
import { isTransientNetworkError } from '../../media/transient';
import { arrowLib, lancedbSdk } from '../../sdk/modules';
import { batches, estimateRowBytes, lastPerKey } from '../rows';
import { keyPredicate, sqlLiteral } from './lance-filter';
import { describeLanceTarget, type LancePlan } from './lance-target';

export interface LanceDbSinkOptions {
  /** the database: a local directory (created on first write), or an s3:// gs:// az:// URI */
  uri: string;
  table: string;
  /** create the table when it does not exist (otherwise it must exist and fit) */
  create?: boolean;
  /** object-store settings passed to LanceDB as they are (credentials, region, endpoint) */
  storageOptions?: Record<string, string>;
  /** name in the catalog and on the CLI (default lancedb:<table>) */
  name?: string;
  /** upper bound of one merge's rows, in estimated bytes (default 64 MiB) */
  batchBytes?: number;
  /** keys per delete predicate (default 1000) */
  deleteBatch?: number;
}

/** LanceDB's messages for a lost optimistic-concurrency race or a lost connection: worth retrying. */
const TRANSIENT = /commit conflict|retryable|too many concurrent|connection (reset|refused|closed)|timed out|timeout|503|service unavailable|slow down/i;

/**
 * Upserts into a LanceDB table with `mergeInsert` on the key (update matched rows, insert the rest),
 * so running an export twice leaves the same rows. Deletes name the keys in a filter. Embeddings are
 * fixed-size lists of float32, what LanceDB's vector search and indexes take.
 */
export class LanceDbSink implements ExportSink {
  readonly name: string;
  private readonly table: string;
  private readonly target: string;
  private db?: Promise<Connection>;
  private readonly prepared = new Map<string, Promise<LancePlan>>();

  constructor(private readonly opts: LanceDbSinkOptions) {
    this.table = checkIdentifier('table', opts.table);
    this.name = opts.name ?? `lancedb:${this.table}`;
    this.target = `lancedb ${opts.uri} ${this.table}`;
  }

  private connection(): Promise<Connection> {
    this.db ??= lancedbSdk().then((lancedb) => lancedb.connect(this.opts.uri, this.opts.storageOptions ? { storageOptions: this.opts.storageOptions } : {}));
    this.db.catch(() => (this.db = undefined));
    return this.db;
  }

  async prepare(schema: ExportSchema): Promise<void> {
    await this.ensure(schema);
  }

  /** Prepare once per schema shape; a failed prepare is tried again by the next call. */
  private ensure(schema: ExportSchema): Promise<LancePlan> {
    const sig = JSON.stringify([schema.columns, schema.key]);
    let plan = this.prepared.get(sig);
    if (!plan) {
      plan = this.run(async () =>
        describeLanceTarget(await arrowLib(), await this.connection(), schema, {
          table: this.table,
          name: this.name,
          target: this.target,
          create: this.opts.create,
        }),
      );
      plan.catch(() => this.prepared.delete(sig));
      this.prepared.set(sig, plan);
    }
    return plan;
  }

  async upsert(schema: ExportSchema, rows: ExportRow[]): Promise<void> {
    if (rows.length === 0) return;
    const p = await this.ensure(schema);
    const { makeArrowTable } = await lancedbSdk();
    const names = p.columns.map((c) => c.name);
    for (const batch of batches(lastPerKey(schema, rows), 100_000, this.opts.batchBytes ?? 64 * 1024 * 1024, (r) => estimateRowBytes(r, names))) {
      const records = batch.map((r) => Object.fromEntries(p.columns.map((c) => [c.name, this.encode(c, r)])));
      const data = makeArrowTable(records, { schema: p.schema });
      await this.run(() => p.table.mergeInsert(schema.key).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data));
    }
  }

  private encode(c: LancePlan['columns'][number], row: ExportRow): unknown {
    try {
      return c.value(row[c.name]);
    } catch (err) {
      throw new TypeError(`${this.target}: ${(err as Error).message}`);
    }
  }

  async delete(schema: ExportSchema, keys: ExportRow[]): Promise<void> {
    if (keys.length === 0) return;
    const p = await this.ensure(schema);
    const keyColumns = schema.key.map((k) => schema.columns.find((c) => c.name === k)!);
    for (const batch of batches(keys, this.opts.deleteBatch ?? 1000, Number.MAX_SAFE_INTEGER, () => 1)) {
      await this.run(() => p.table.delete(keyPredicate(keyColumns, batch)));
    }
  }

  /**
   * After a full ship: delete every row whose key is not among `keys` (the source's live keys).
   * The live keys are kept as their filter literals (one canonical spelling per value, whatever
   * type the record or LanceDB hands back), the dataset's keys are read (key columns only), and the
   * others are deleted by key.
   */
  async retain(schema: ExportSchema, keys: AsyncIterable<ExportRow[]>): Promise<number> {
    const p = await this.ensure(schema);
    const keyColumns = schema.key.map((k) => schema.columns.find((c) => c.name === k)!);
    const spell = (r: ExportRow) => keyColumns.map((c) => sqlLiteral(c.type, r[c.name], c.name)).join('\u0000');
    const live = new Set<string>();
    for await (const chunk of keys) for (const r of chunk) live.add(spell(r));
    const found = (await this.run(() => p.table.query().select(schema.key).toArray())) as ExportRow[];
    const stale = found.filter((r) => !live.has(spell(r)));
    await this.delete(schema, stale);
    return stale.length;
  }

  async close(): Promise<void> {
    const plans = [...this.prepared.values()];
    this.prepared.clear();
    for (const p of await Promise.allSettled(plans)) if (p.status === 'fulfilled') p.value.table.close();
    const db = this.db;
    this.db = undefined;
    if (db) (await db.catch(() => undefined))?.close();
  }

  /** A lost commit race or a network failure becomes a TransientError, so the export job retries; any other failure names the target. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TesseraError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      if (TRANSIENT.test(message) || isTransientNetworkError(err)) throw new TransientError(`${this.target}: ${message}`);
      throw new Error(`${this.target}: ${message}`, { cause: err });
    }
  }
}

/** `lancedb({ uri, table })`: an export sink into a LanceDB table (local directory or object store). */
export function lancedb(opts: LanceDbSinkOptions): ExportSink {
  return new LanceDbSink(opts);
}
