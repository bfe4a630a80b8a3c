import type pg from 'pg';
import type { CatalogTable } from './catalog';
import type { RowSelector } from './cells';
import { currentMark, pendingScope, markClean, anyPending, uncoveredPending, pendingIn, type TableMark, type PendingQuery, type PendingScope } from './pending';

/** What the fleet's periodic reconcile asks of the record (see pending.ts): where pending cells may be, cheaply. */
export class Pending {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  /** The table's latest version, as the reconcile compares it with its clean mark. */
  mark(table: CatalogTable): Promise<TableMark> {
    return currentMark(this.pool, this.schema, table.id);
  }

  /** Where pending cells may be since the table was last found clean. */
  scope(table: CatalogTable, mark: TableMark): Promise<PendingScope> {
    return pendingScope(this.pool, this.schema, table.id, mark);
  }

  markClean(table: CatalogTable, mark: TableMark): Promise<void> {
    return markClean(this.pool, this.schema, table.id, mark);
  }

  any(table: CatalogTable, q: Pick<PendingQuery, 'columns' | 'excludeVersions' | 'afterVersion'>): Promise<boolean> {
    return anyPending(this.pool, table, q);
  }

  /** Ranges of live rows with pending cells that no live job covers (see PendingQuery). */
  uncovered(table: CatalogTable, q: PendingQuery): Promise<RowSelector[]> {
    return uncoveredPending(this.pool, this.schema, table, q);
  }

  /** For each range, whether it still has a pending cell of `columns`. */
  inRanges(table: CatalogTable, columns: string[], ranges: RowSelector[]): Promise<boolean[]> {
    return pendingIn(this.pool, table, columns, ranges);
  }
}
