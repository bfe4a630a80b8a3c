import type pg from 'pg';
import { dependentsOf } from '@tessera/core';
import { viewsOf, type CatalogTable } from './catalog';
import { ident, statusCol, errTypeCol, errMsgCol } from './sql';
import { versionFor, addVersionCounts } from './versions';
import { resetCells } from './cells';

/**
 * A version of a view that a change of its base made (rows retired, rows revised, cells reset),
 * with the work it needs once the base's own work is done: the columns to compute, then the same
 * for views of the view. Carried by the base version's finalize job, so a view never computes
 * from base cells that are still being recomputed.
 */
export interface DerivedVersion {
  table: string;
  version: number;
  /** only the row versions this version wrote; every live row otherwise */
  vMin?: number;
  /** computed (and iteration) columns to compute (all pending ones when absent); none: only its exports run */
  columns?: string[];
  then: DerivedVersion[];
}

/** The request id under which a base version's changes to its views are written (and found again by revert). */
export const derivedKey = (table: CatalogTable, version: number) => `derived:${table.id}:v${version}`;

/** Names of `table`'s columns as `view` sees them (a view's own column of the same name hides the base's, renamed `<base>_<column>`). */
const seenBy = (view: CatalogTable, table: CatalogTable, names: string[]) =>
  names.map((n) => (view.columns.some((c) => c.name === n) ? `${table.name}_${n}` : n));

/** Does the view have live rows (of these base rows)? A version is made only for a view the change reaches. */
async function hasLiveRows(c: pg.PoolClient, view: CatalogTable, baseRowids?: number[]): Promise<boolean> {
  const { rowCount } = baseRowids
    ? await c.query(`SELECT 1 FROM ${view.physical} WHERE _v_max IS NULL AND _base_rowid = ANY($1::bigint[]) LIMIT 1`, [baseRowids])
    : await c.query(`SELECT 1 FROM ${view.physical} WHERE _v_max IS NULL LIMIT 1`);
  return (rowCount ?? 0) > 0;
}

/** A view's physical columns in order: system columns, then each own column (computed ones with status and error). */
function physicalColumns(view: CatalogTable): string[] {
  return ['_base_rowid', ...view.columns.flatMap((c) => (c.computed ? [c.name, statusCol(c.name), errTypeCol(c.name), errMsgCol(c.name)] : [c.name]))];
}

/**
 * Retire the live rows of every view over `table` whose base row is one of `rowids` (a deleted or
 * re-iterated base row), and so on down views of views. Each view writes under one version found
 * or made by `requestId`, so a retried job retires into the same version.
 */
export async function retireDerived(
  c: pg.PoolClient,
  all: CatalogTable[],
  table: CatalogTable,
  rowids: number[],
  requestId: string,
  detail: string,
): Promise<DerivedVersion[]> {
  const out: DerivedVersion[] = [];
  if (!rowids.length) return out;
  for (const view of viewsOf(all, table)) {
    if (!(await hasLiveRows(c, view, rowids))) continue;
    const version = await versionFor(c, view.schema, view.id, requestId, 'delete', detail);
    const { rows } = await c.query(`UPDATE ${view.physical} SET _v_max = $2 WHERE _v_max IS NULL AND _base_rowid = ANY($1::bigint[]) RETURNING _rowid`, [
      rowids,
      version,
    ]);
    await addVersionCounts(c, view.schema, view.id, version, { deletes: rows.length });
    const then = await retireDerived(
      c,
      all,
      view,
      rows.map((r) => r._rowid),
      requestId,
      detail,
    );
    out.push({ table: view.name, version, columns: [], then });
  }
  return out;
}

/**
 * A base update changed `changed` (base columns, and the computed columns it reset) for the base
 * rows `rowids`: each view's rows of those base rows get a new row version, with the view's
 * computed columns that read a changed column reset, so they are recomputed and re-exported with
 * the new inherited values. A view whose iteration cell was reset (its input changed) is left to
 * the iterate job, which replaces its rows.
 */
export async function reviseDerived(
  c: pg.PoolClient,
  all: CatalogTable[],
  table: CatalogTable,
  rowids: number[],
  changed: string[],
  requestId: string,
  detail: string,
): Promise<DerivedVersion[]> {
  const out: DerivedVersion[] = [];
  if (!rowids.length || !changed.length) return out;
  for (const view of viewsOf(all, table)) {
    if (changed.includes(view.name)) continue;
    if (!(await hasLiveRows(c, view, rowids))) continue;
    const seen = seenBy(view, table, changed);
    const reset = dependentsOf(view.columns, seen);
    const version = await versionFor(c, view.schema, view.id, requestId, 'update', detail);
    const cols = physicalColumns(view);
    const resetPhysical = new Set(reset.flatMap((n) => [n, statusCol(n), errTypeCol(n), errMsgCol(n)]));
    const { rows } = await c.query(
      `WITH o AS (UPDATE ${view.physical} t SET _v_max = $2 WHERE t._v_max IS NULL AND t._base_rowid = ANY($1::bigint[]) RETURNING t.*)
       INSERT INTO ${view.physical} (_rowid, _v_min, ${cols.map(ident).join(', ')})
       SELECT o._rowid, $2, ${cols.map((p) => (resetPhysical.has(p) ? 'NULL' : `o.${ident(p)}`)).join(', ')} FROM o RETURNING _rowid`,
      [rowids, version],
    );
    await addVersionCounts(c, view.schema, view.id, version, { updates: rows.length });
    const then = await reviseDerived(
      c,
      all,
      view,
      rows.map((r) => r._rowid),
      [...seen, ...reset],
      requestId,
      detail,
    );
    // every pending cell of the new row versions, not only the reset ones: a cell still pending in
    // the old version (its job in flight) was carried over, and that job writes to the old version
    out.push({ table: view.name, version, vMin: version, then });
  }
  return out;
}

/**
 * A recompute reset `columns` of `table`: every view's computed columns that read them are reset
 * too, and every view is re-exported (its inherited values change), down views of views. A view
 * whose iteration is being recomputed is left to the iterate job, which replaces its rows.
 */
export async function resetDerived(
  c: pg.PoolClient,
  all: CatalogTable[],
  table: CatalogTable,
  columns: string[],
  requestId: string,
  detail: string,
): Promise<DerivedVersion[]> {
  const out: DerivedVersion[] = [];
  for (const view of viewsOf(all, table)) {
    if (columns.includes(view.name)) continue;
    if (!(await hasLiveRows(c, view))) continue;
    const seen = seenBy(view, table, columns);
    const reset = dependentsOf(view.columns, seen);
    const version = await versionFor(c, view.schema, view.id, requestId, 'recompute', detail);
    await resetCells(c, view, reset);
    const then = await resetDerived(c, all, view, [...seen, ...reset], requestId, detail);
    out.push({ table: view.name, version, columns: reset, then });
  }
  return out;
}

/** Revert of a base insert: the view rows of those base rows never existed (down views of views). */
export async function removeDerived(c: pg.PoolClient, all: CatalogTable[], table: CatalogTable, rowids: number[]): Promise<void> {
  if (!rowids.length) return;
  for (const view of viewsOf(all, table)) {
    const { rows } = await c.query(`DELETE FROM ${view.physical} WHERE _base_rowid = ANY($1::bigint[]) RETURNING _rowid`, [rowids]);
    await removeDerived(c, all, view, [...new Set(rows.map((r) => r._rowid as number))]);
  }
}

/** Revert of a base delete: the view rows its cascade retired (found by its request id) are live again. */
export async function restoreDerived(c: pg.PoolClient, all: CatalogTable[], table: CatalogTable, requestId: string): Promise<void> {
  for (const view of viewsOf(all, table)) {
    const { rows } = await c.query(`SELECT version FROM ${ident(view.schema)}.versions WHERE table_id = $1 AND request_id = $2`, [view.id, requestId]);
    if (!rows[0]) continue;
    await c.query(`UPDATE ${view.physical} SET _v_max = NULL WHERE _v_max = $1`, [rows[0].version]);
    await restoreDerived(c, all, view, requestId);
  }
}
