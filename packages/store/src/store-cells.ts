import type pg from 'pg';
import { TesseraError } from '@tessera/core';
import { ident } from './sql';
import { loadTables, type CatalogTable } from './catalog';
import {
  loadBatch,
  loadBoundedBatch,
  writeCells,
  pendingRanges,
  pendingCells,
  pendingCellsOf,
  type BatchRow,
  type BoundedBatch,
  type CellWrite,
  type RowSelector,
} from './cells';
import { pendingParts, type RowRange } from './pending-parts';
import { commitIteration, type IterationCommit, type IterationOutcome } from './iterations';
import { abortedVersions } from './store-history';
import type { TableStats } from './table-stats';

/** What a worker computing cells asks of the record: batches to compute, their outcomes, the pending ranges, model usage. */
export class Cells {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly stats: TableStats,
  ) {}

  /**
   * The live rows of a batch that still have a pending cell among `columns`, with every input those
   * columns read (decoded: values, and the state of each computed input, a view's inherited ones
   * included, so a failed input fails its dependents and a pending one waits).
   */
  batch(table: CatalogTable, columns: string[], sel: RowSelector): Promise<BatchRow[]> {
    return loadBatch(this.pool, table, columns, sel);
  }

  /** batch(), stopping once the rows read hold `maxBytes` of text, JSON and arrays (at least one row is read): `next` is where the rest begins. */
  boundedBatch(table: CatalogTable, columns: string[], sel: RowSelector, maxBytes: number): Promise<BoundedBatch> {
    return loadBoundedBatch(this.pool, table, columns, sel, maxBytes);
  }

  /** The batch's pending rows in consecutive parts within `maxRows` rows and `maxBytes` of text, JSON and arrays, sized without reading them (see pendingParts). */
  parts(table: CatalogTable, columns: string[], sel: RowSelector, limits: { maxRows: number; maxBytes: number }): Promise<RowRange[]> {
    return pendingParts(this.pool, table, columns, sel, limits);
  }

  /** Write cell outcomes into the row versions they were computed from (never into a newer one); repeating is harmless. */
  write(table: CatalogTable, columns: string[], rows: CellWrite[]): Promise<void> {
    return writeCells(this.pool, table, columns, rows);
  }

  /** Rowid ranges of at most `size` live rows with a pending cell in `columns` (backfills, reconcile). */
  pendingRanges(table: CatalogTable, columns: string[], size: number, vMin?: number, excludeVersions?: number[]): Promise<RowSelector[]> {
    return pendingRanges(this.pool, table, columns, size, vMin, excludeVersions);
  }

  /** Pending cells among live rows, leaving out rows of aborted versions (they will not be computed). */
  async pendingCount(table: CatalogTable): Promise<number> {
    return pendingCells(this.pool, table, await abortedVersions(this.pool, this.schema, table));
  }

  /** Pending cells among the live rows `version` wrote (see Engine.waitVersion). */
  pendingCountOf(table: CatalogTable, version: number): Promise<number> {
    return pendingCellsOf(this.pool, table, version);
  }

  /**
   * Commit one base row's iteration into a view (see commitIteration): replaces that base row's
   * view rows and records the iteration cell, in one transaction.
   */
  async commitIteration(
    base: CatalogTable,
    viewName: string,
    row: Pick<BatchRow, 'rowid' | 'vMin'>,
    outcome: IterationOutcome,
    work: { requestId: string; detail: string },
  ): Promise<IterationCommit> {
    const all = await loadTables(this.pool, this.schema, base.pipeline);
    const view = all.find((t) => t.name === viewName && t.baseId === base.id);
    if (!view) throw new TesseraError('E_UNKNOWN_TABLE', `${base.pipeline}.${base.name} has no view ${viewName}`);
    const commit = await commitIteration(this.pool, all, base, view, row, outcome, work);
    this.stats.noteWrite(view, commit.inserted + commit.retired);
    return commit;
  }

  /** Add model usage a job reported (calls, tokens, 429s...) to the column's running totals. */
  async addUsage(table: CatalogTable, entries: Array<{ column: string; counter: string; amount: number }>): Promise<void> {
    if (!entries.length) return;
    await this.pool.query(
      `INSERT INTO ${ident(this.schema)}.usage (table_id, column_name, counter, amount)
       SELECT $1, u.column_name, u.counter, u.amount FROM jsonb_to_recordset($2::jsonb) AS u(column_name text, counter text, amount bigint)
       ON CONFLICT (table_id, column_name, counter) DO UPDATE SET amount = usage.amount + EXCLUDED.amount`,
      [table.id, JSON.stringify(entries.map((e) => ({ column_name: e.column, counter: e.counter, amount: e.amount })))],
    );
  }
}
