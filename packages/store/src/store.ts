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
import { loadBatch, writeCells, pendingRanges, resetErrors, resetCells, type RowSelector, type CellResult } from './cells';
import { ident, statusCol } from './sql';
import { TesseraError } from '@tessera/core';
import { retireDerived, reviseDerived, resetDerived, derivedKey, type DerivedVersion } from './derived';
import { commitIteration, type IterationOutcome } from './iterations';
import { syncExports, withExportLock, exportStates, type ExportDecl, type Ship, type ShipOutcome } from './exports';
import {
  currentMark,
  pendingScope,
  markClean,
  anyPending,
  uncoveredPending,
  pendingIn,
  markShipped,
  unshippedVersions,
  type TableMark,
  type PendingQuery,
  type PendingScope,
} from './pending';

export interface WriteOptions {
  /** idempotency key: a write repeated with the same id applies once */
  requestId?: string;
}

export interface StoreOptions {
  url: string;
  schema: string;
  poolSize?: number;
}

/**
 * Tessera's record in Postgres: the catalog, one physical table per user table, row versions
 * and cell values and errors. Everything a worker or the CLI reads or writes goes through here.
 */
export class Store {
  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {}

  static async open(opts: StoreOptions): Promise<Store> {
    const pool = createPool(opts.url, opts.poolSize);
    const store = new Store(pool, opts.schema);
    await migrate(pool, opts.schema);
    return store;
  }

  close(): Promise<void> {
    return this.pool.end();
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

  async pipelines(): Promise<string[]> {
    const { rows } = await this.pool.query(`SELECT name FROM ${ident(this.schema)}.pipelines ORDER BY name`);
    return rows.map((r) => r.name);
  }

  /**
   * Validate then insert rows in one transaction: one new version, or nothing on any bad row.
   * With a `requestId`, a repeated request (a retried ingest job) returns the first one's version;
   * the same id with other rows is refused.
   */
  async insert(pipeline: string, tableName: string, rows: Row[], opts: WriteOptions = {}) {
    const { outcome } = await this.writeOne(pipeline, tableName, 'insert', rows, opts);
    return outcome;
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
  async commitGroup(pipeline: string, tableName: string, op: WriteOp, requests: WriteRequest[]): Promise<GroupCommit> {
    const table = await this.writable(pipeline, tableName);
    return commitGroup(this.pool, this.schema, table, op, requests);
  }

  private async writeOne(pipeline: string, tableName: string, op: WriteOp, rows: Row[], opts: WriteOptions) {
    const g = await this.commitGroup(pipeline, tableName, op, [{ rows, ...(opts.requestId === undefined ? {} : { id: opts.requestId }) }]);
    const outcome = g.outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    return { outcome: { version: outcome.version, count: outcome.count, duplicate: outcome.duplicate }, commit: g.commits[0] };
  }

  /** Record that these versions' work was enqueued (see unqueuedVersions). */
  async markEnqueued(tableId: number, versions: number[]): Promise<void> {
    if (versions.length)
      await this.pool.query(
        `UPDATE ${ident(this.schema)}.versions SET enqueued_at = now() WHERE table_id = $1 AND version = ANY($2::int[]) AND enqueued_at IS NULL`,
        [tableId, versions],
      );
  }

  /** Those of `versions` whose work was never recorded as enqueued (the writer died in between). */
  async unqueuedVersions(tableId: number, versions: number[]): Promise<number[]> {
    if (!versions.length) return [];
    const { rows } = await this.pool.query(
      `SELECT version FROM ${ident(this.schema)}.versions WHERE table_id = $1 AND version = ANY($2::int[]) AND enqueued_at IS NULL`,
      [tableId, versions],
    );
    return rows.map((r) => r.version);
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

  /**
   * Commit one base row's iteration into a view (see commitIteration): replaces that base row's
   * view rows and records the iteration cell, in one transaction.
   */
  async commitIteration(
    base: CatalogTable,
    viewName: string,
    row: { _rowid: number; _v_min: number },
    outcome: IterationOutcome,
    work: { requestId: string; detail: string },
  ) {
    const all = await this.tables(base.pipeline);
    const view = all.find((t) => t.name === viewName && t.baseId === base.id);
    if (!view) throw new TesseraError('E_UNKNOWN_TABLE', `${base.pipeline}.${base.name} has no view ${viewName}`);
    return commitIteration(this.pool, all, base, view, row, outcome, work);
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

  /** Record that a version's computation stopped on an error in an `onError: 'abort'` column. */
  async abortVersion(tableId: number, version: number, message: string): Promise<void> {
    await this.pool.query(`UPDATE ${ident(this.schema)}.versions SET aborted = coalesce(aborted, $3) WHERE table_id = $1 AND version = $2`, [
      tableId,
      version,
      message,
    ]);
  }

  async abortedVersion(tableId: number, version: number): Promise<string | null> {
    const { rows } = await this.pool.query(`SELECT aborted FROM ${ident(this.schema)}.versions WHERE table_id = $1 AND version = $2`, [tableId, version]);
    return rows[0]?.aborted ?? null;
  }

  loadBatch(table: CatalogTable, columns: string[], sel: RowSelector) {
    return loadBatch(this.pool, table, columns, sel);
  }

  writeCells(table: CatalogTable, columns: string[], results: Array<{ _rowid: number; _v_min: number; cells: Record<string, CellResult> }>) {
    return writeCells(this.pool, table, columns, results);
  }

  pendingRanges(table: CatalogTable, columns: string[], size: number, vMin?: number, excludeVersions?: number[]) {
    return pendingRanges(this.pool, table, columns, size, vMin, excludeVersions);
  }

  /** Pending cells among live rows, leaving out rows of aborted versions (they will not be computed). */
  async pendingCells(table: CatalogTable): Promise<number> {
    const computed = table.columns.filter((c) => c.computed);
    if (!computed.length) return 0;
    const aborted = await this.abortedVersions(table.id);
    const sum = computed.map((c) => `count(*) FILTER (WHERE ${ident(statusCol(c.name))} IS NULL)`).join(' + ');
    const { rows } = await this.pool.query(`SELECT ${sum} AS n FROM ${table.physical} WHERE _v_max IS NULL AND _v_min <> ALL($1::int[])`, [aborted]);
    return Number(rows[0].n);
  }

  /** The table's latest version, as the periodic reconcile compares it with its clean mark. */
  tableMark(tableId: number): Promise<TableMark> {
    return currentMark(this.pool, this.schema, tableId);
  }

  /** Where pending cells may be since the table was last found clean. */
  pendingScope(tableId: number, mark: TableMark): Promise<PendingScope> {
    return pendingScope(this.pool, this.schema, tableId, mark);
  }

  markClean(tableId: number, mark: TableMark): Promise<void> {
    return markClean(this.pool, this.schema, tableId, mark);
  }

  /** A version's finalize shipped it (see unshippedVersions). */
  markShipped(tableId: number, version: number): Promise<void> {
    return markShipped(this.pool, this.schema, tableId, version);
  }

  /** Versions older than `olderThanMs` that no finalize has shipped yet. */
  unshippedVersions(tableId: number, olderThanMs: number): Promise<number[]> {
    return unshippedVersions(this.pool, this.schema, tableId, olderThanMs);
  }

  /** When a version was committed, in microseconds: tells apart two versions with one number (a revert hands its number to the next write). */
  async versionStamp(tableId: number, version: number): Promise<string | undefined> {
    const { rows } = await this.pool.query(
      `SELECT (extract(epoch FROM created_at) * 1000000)::bigint::text AS stamp FROM ${ident(this.schema)}.versions WHERE table_id = $1 AND version = $2`,
      [tableId, version],
    );
    return rows[0]?.stamp;
  }

  anyPending(table: CatalogTable, q: Pick<PendingQuery, 'columns' | 'excludeVersions' | 'afterVersion'>): Promise<boolean> {
    return anyPending(this.pool, table, q);
  }

  /** Ranges of live rows with pending cells that no live job covers (see PendingQuery). */
  uncoveredPending(table: CatalogTable, q: PendingQuery): Promise<RowSelector[]> {
    return uncoveredPending(this.pool, this.schema, table, q);
  }

  /** For each range, whether it still has a pending cell of `columns`. */
  pendingIn(table: CatalogTable, columns: string[], ranges: RowSelector[]): Promise<boolean[]> {
    return pendingIn(this.pool, table, columns, ranges);
  }

  /** Add model usage a job reported (calls, tokens, 429s...) to the column's running totals. */
  async addUsage(tableId: number, entries: Array<{ column: string; counter: string; amount: number }>): Promise<void> {
    if (!entries.length) return;
    await this.pool.query(
      `INSERT INTO ${ident(this.schema)}.usage (table_id, column_name, counter, amount)
       SELECT $1, u.column_name, u.counter, u.amount FROM jsonb_to_recordset($2::jsonb) AS u(column_name text, counter text, amount bigint)
       ON CONFLICT (table_id, column_name, counter) DO UPDATE SET amount = usage.amount + EXCLUDED.amount`,
      [tableId, JSON.stringify(entries.map((e) => ({ column_name: e.column, counter: e.counter, amount: e.amount })))],
    );
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

  /** The version written under a request id (see versionFor), or null. */
  async versionByRequest(tableId: number, requestId: string): Promise<number | null> {
    const { rows } = await this.pool.query(`SELECT version FROM ${ident(this.schema)}.versions WHERE table_id = $1 AND request_id = $2`, [tableId, requestId]);
    return rows[0]?.version ?? null;
  }

  /** Record a table's declared exports; returns the sinks that need a full ship (new, or columns changed). */
  syncExports(tableId: number, decls: ExportDecl[]): Promise<string[]> {
    return syncExports(this.pool, this.schema, tableId, decls);
  }

  /** One ship of an export, under its lock, with its sequence number (see withExportLock). */
  shipExport(tableId: number, sink: string, waitMs: number, ship: (s: Ship) => Promise<ShipOutcome>): Promise<ShipOutcome> {
    return withExportLock(this.pool, this.schema, tableId, sink, waitMs, ship);
  }

  /** Where each export of a pipeline's tables stands (ok, stuck with its reason, rows held). */
  exportStates(pipeline: string) {
    return exportStates(this.pool, this.schema, pipeline);
  }

  async abortedVersions(tableId: number): Promise<number[]> {
    const { rows } = await this.pool.query(`SELECT version FROM ${ident(this.schema)}.versions WHERE table_id = $1 AND aborted IS NOT NULL`, [tableId]);
    return rows.map((r) => r.version);
  }
}
