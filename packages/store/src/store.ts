import type { InlineCells } from './inline-cells';
import type pg from 'pg';
import type { PipelinePlan } from '@tessera/core';
import { createPool, withTx } from './db';
import { migrate } from './migrations';
import { loadTable, loadTables, type CatalogTable } from './catalog';
import { applyPlan, type ApplyChange, type ApplyOptions } from './apply';
import type { Row } from './rows';
import { commitGroup, type GroupCommit, type WriteRequest } from './group-commit';
import { requestsOf, type WriteOp } from './requests';
import { selectRows, columnStatus, listErrors, type SelectOptions } from './read';
import { listVersions, revertLatest, bumpVersion } from './versions';
import { resetErrors, resetCells } from './cells';
import { ident } from './sql';
import { TesseraError } from '@tessera/core';
import { resetDerived, derivedKey, type DerivedVersion } from './derived';
import { Cells } from './store-cells';
import { Pending } from './store-pending';
import { History } from './store-history';
import { Exports } from './store-exports';
import { PostgresResponseCache, type PostgresResponseCacheOptions } from './response-cache';
import { SourceStates } from './sources/source-state';
import { TableStats } from './table-stats';

export interface WriteOptions {
  /** idempotency key: a write repeated with the same id applies once */
  requestId?: string;
}

export interface StoreOptions {
  url: string;
  schema: string;
  poolSize?: number;
  /** an export chunk's budget of text, JSON and arrays (see ExportScans; TESSERA_BATCH_BYTES) */
  chunkBytes?: number;
}

/**
 * Tessera's record in Postgres: the catalog, one physical table per user table, row versions
 * and cell values and errors. Everything a worker or the CLI reads or writes goes through here,
 * and nothing outside this package knows the physical layout.
 *
 * Users' reads and writes name a table as users do (pipeline, name); what workers ask is grouped
 * by concern (`cells`, `pending`, `history`, `exports`, `sources`) and names a table by its
 * catalog entry (from `table()`).
 */
export class Store {
  /** batches to compute, their cell outcomes, iterations into views, model usage */
  readonly cells: Cells;
  /** where pending cells may be (the periodic reconcile) */
  readonly pending: Pending;
  /** what each version did, aborts, enqueueing, request ids */
  readonly history: History;
  /** export declarations, states, ships, and the rows and keys they ship */
  readonly exports: Exports;
  /** scheduled sources: their runs, watermarks and locks */
  readonly sources: SourceStates;
  /** the planner's statistics of tables written fast */
  private readonly stats: TableStats;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    chunkBytes?: number,
  ) {
    this.stats = new TableStats(pool);
    this.cells = new Cells(pool, schema, this.stats);
    this.pending = new Pending(pool, schema);
    this.history = new History(pool, schema);
    this.exports = new Exports(pool, schema, chunkBytes);
    this.sources = new SourceStates(pool, schema);
  }

  static async open(opts: StoreOptions): Promise<Store> {
    const pool = createPool(opts.url, opts.poolSize);
    const store = new Store(pool, opts.schema, opts.chunkBytes);
    await migrate(pool, opts.schema);
    return store;
  }

  async close(): Promise<void> {
    await this.stats.settle();
    await this.pool.end();
  }

  apply(plan: PipelinePlan, opts?: ApplyOptions): Promise<ApplyChange[]> {
    return applyPlan(this.pool, this.schema, plan, opts);
  }

  table(pipeline: string, name: string): Promise<CatalogTable> {
    return loadTable(this.pool, this.schema, pipeline, name);
  }

  tables(pipeline: string): Promise<CatalogTable[]> {
    return loadTables(this.pool, this.schema, pipeline);
  }

  /** This record's identity (made with the schema): what a queue prefix in Redis is bound to. */
  async recordId(): Promise<string> {
    const { rows } = await this.pool.query(`SELECT id::text FROM ${ident(this.schema)}.record`);
    return rows[0].id;
  }

  async pipelines(): Promise<string[]> {
    const { rows } = await this.pool.query(`SELECT name FROM ${ident(this.schema)}.pipelines ORDER BY name`);
    return rows.map((r) => r.name);
  }

  /**
   * Validate then insert rows in one transaction: one new version, or nothing on any bad row.
   * With a `requestId`, a repeated request (a retried ingest job) returns the first one's version;
   * the same id with other rows is refused.
   */
  async insert(pipeline: string, tableName: string, rows: Row[], opts: WriteOptions = {}, inline?: InlineCells) {
    const { outcome, commit } = await this.writeOne(pipeline, tableName, 'insert', rows, opts, inline);
    // the cells `inline` filled, by column (none for a repeated request: it wrote nothing now)
    return { ...outcome, filled: commit?.filled ?? {} };
  }

  /**
   * Update rows by primary key; dependent computed columns are reset. The view rows of updated
   * rows get new versions carrying the new inherited values (`derived`: view work to run once
   * the table's own work is done).
   */
  async update(pipeline: string, tableName: string, rows: Row[], opts: WriteOptions = {}) {
    const { outcome, commit } = await this.writeOne(pipeline, tableName, 'update', rows, opts);
    return { ...outcome, reset: commit?.reset ?? [], derived: commit?.derived ?? [] };
  }

  /**
   * Insert rows whose primary key is new and update those whose key exists, in one version (kind
   * `upsert`): a new key needs every required column, an existing one only the columns to change
   * (their dependent computed columns are reset, as by update). Same options as insert and update.
   */
  async upsert(pipeline: string, tableName: string, rows: Row[], opts: WriteOptions = {}) {
    const { outcome, commit } = await this.writeOne(pipeline, tableName, 'upsert', rows, opts);
    // a retry (duplicate) answers with the first call's version and count; what it inserted or updated is not kept
    return { ...outcome, inserted: commit?.inserted ?? 0, updated: commit?.updated ?? 0, reset: commit?.reset ?? [], derived: commit?.derived ?? [] };
  }

  /** Delete rows by primary key; the rows of views over them are deleted too (`derived`). */
  async delete(pipeline: string, tableName: string, keys: Row[], opts: WriteOptions = {}) {
    const { outcome, commit } = await this.writeOne(pipeline, tableName, 'delete', keys, opts);
    return { ...outcome, derived: commit?.derived ?? [] };
  }

  /**
   * Commit many write requests of one kind to one table as one version, each request with its own
   * outcome and idempotency key (see commitGroup): how a stream of small producer calls is grouped.
   */
  async commitGroup(pipeline: string, tableName: string, op: WriteOp, requests: WriteRequest[], inline?: InlineCells): Promise<GroupCommit> {
    const table = await this.writable(pipeline, tableName);
    const group = await commitGroup(this.pool, this.schema, table, op, requests, op === 'insert' ? inline : undefined);
    this.stats.noteWrite(
      table,
      group.commits.reduce((n, c) => n + c.inserted + c.updated + c.deleted, 0),
    );
    return group;
  }

  private async writeOne(pipeline: string, tableName: string, op: WriteOp, rows: Row[], opts: WriteOptions, inline?: InlineCells) {
    const g = await this.commitGroup(pipeline, tableName, op, [{ rows, ...(opts.requestId === undefined ? {} : { id: opts.requestId }) }], inline);
    const outcome = g.outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    return { outcome: { version: outcome.version, count: outcome.count, duplicate: outcome.duplicate }, commit: g.commits[0] };
  }

  /** The requests (producer calls) a version holds, in commit order. */
  async requests(pipeline: string, tableName: string, version: number) {
    return requestsOf(this.pool, this.schema, (await this.table(pipeline, tableName)).id, version);
  }

  /** A table users write to: views get their rows from their iterator. */
  private async writable(pipeline: string, tableName: string): Promise<CatalogTable> {
    const table = await this.table(pipeline, tableName);
    if (table.kind === 'view') {
      throw new TesseraError(
        'E_VIEW_WRITE',
        `${pipeline}.${tableName} is a view: its rows come from iterating ${table.base?.name ?? 'its base table'}; write to the base table instead`,
      );
    }
    return table;
  }

  async select(pipeline: string, tableName: string, opts?: SelectOptions) {
    return selectRows(this.pool, await this.table(pipeline, tableName), opts);
  }

  async status(pipeline: string, tableName: string) {
    return columnStatus(this.pool, await this.table(pipeline, tableName));
  }

  async errors(pipeline: string, tableName: string, opts?: { column?: string; limit?: number }) {
    return listErrors(this.pool, await this.table(pipeline, tableName), opts);
  }

  async versions(pipeline: string, tableName: string) {
    return listVersions(this.pool, this.schema, await this.table(pipeline, tableName));
  }

  async revert(pipeline: string, tableName: string): Promise<number> {
    const table = await this.writable(pipeline, tableName);
    return withTx(this.pool, async (c) => revertLatest(c, this.schema, table, await loadTables(c, this.schema, pipeline)));
  }

  /** Reset failed (or all) cells of computed columns to pending, as a new version; returns it. */
  async recompute(pipeline: string, tableName: string, opts: { columns?: string[]; errorsOnly?: boolean }) {
    const table = await this.table(pipeline, tableName);
    const columns = opts.columns ?? table.columns.filter((c) => c.computed).map((c) => c.name);
    return withTx(this.pool, async (c) => {
      const version = await bumpVersion(
        c,
        this.schema,
        table.id,
        'recompute',
        `${opts.errorsOnly ? 'retry failed cells of' : 'recompute'} ${columns.join(', ')}`,
      );
      if (opts.errorsOnly) return { version, cells: await resetErrors(c, table, columns), derived: [] as DerivedVersion[] };
      await resetCells(c, table, columns);
      const all = await loadTables(c, this.schema, pipeline);
      const derived = await resetDerived(c, all, table, columns, derivedKey(table, version), `recompute of ${table.name} v${version}`);
      return { version, cells: -1, derived };
    });
  }

  /** Usage totals per column: `{ embedding: { calls: 60, tokens: 900 } }`. */
  async usage(pipeline: string, tableName: string): Promise<Record<string, Record<string, number>>> {
    const table = await this.table(pipeline, tableName);
    const { rows } = await this.pool.query(
      `SELECT column_name, counter, amount FROM ${ident(this.schema)}.usage WHERE table_id = $1 ORDER BY column_name, counter`,
      [table.id],
    );
    const out: Record<string, Record<string, number>> = {};
    for (const r of rows) (out[r.column_name] ??= {})[r.counter] = Number(r.amount);
    return out;
  }

  /** The response cache of model calls (its table comes with the store's migrations), shared by the fleet. */
  responseCache(opts?: PostgresResponseCacheOptions): PostgresResponseCache {
    return new PostgresResponseCache(this.pool, this.schema, opts);
  }

  /** Drop the whole record (its schema): for tests and benchmarks that made their own. */
  async dropAll(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${ident(this.schema)} CASCADE`);
  }
}
