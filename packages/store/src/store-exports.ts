import type pg from 'pg';
import { ident } from './sql';
import type { CatalogTable } from './catalog';
import { syncExports, withExportLock, exportStates, type ExportDecl, type ExportState, type Ship, type ShipOutcome } from './exports';
import type { ShipGuard } from './ship-deaths';
import { ExportScans } from './export-scans';

/** What exports ask of the record: their declarations and states, one ship at a time per export, and the rows to ship (see ExportScans). */
export class Exports extends ExportScans {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    chunkBytes?: number,
  ) {
    super(pool, chunkBytes);
  }

  /** Record a table's declared exports; returns the sinks that need a full ship (new, or columns changed). */
  sync(table: CatalogTable, decls: ExportDecl[]): Promise<string[]> {
    return syncExports(this.pool, this.schema, table.id, decls);
  }

  /** One ship of an export, under its lock, with its sequence number; refused once ships of it keep killing their process (see withExportLock). */
  ship(table: CatalogTable, sink: string, waitMs: number, ship: (s: Ship) => Promise<ShipOutcome>, guard?: ShipGuard): Promise<ShipOutcome> {
    return withExportLock(this.pool, this.schema, table.id, sink, waitMs, ship, guard);
  }

  /** Where each export of a pipeline's tables stands (ok, stuck with its reason, rows held). */
  states(pipeline: string): Promise<ExportState[]> {
    return exportStates(this.pool, this.schema, pipeline);
  }

  /** Mark exports as tried now (their state unchanged): the fleet spaces its tries of an export by when it last tried. */
  async touch(table: CatalogTable, sinks: string[]): Promise<void> {
    await this.pool.query(`UPDATE ${ident(this.schema)}.exports SET updated_at = now() WHERE table_id = $1 AND sink = ANY($2)`, [table.id, sinks]);
  }

  /** Whether the table has any row, live or retired (a table without rows has nothing to ship yet). */
  async hasRows(table: CatalogTable): Promise<boolean> {
    const { rowCount } = await this.pool.query(`SELECT 1 FROM ${table.physical} LIMIT 1`);
    return !!rowCount;
  }
}
