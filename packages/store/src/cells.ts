import type pg from 'pg';
import { columnsOf } from '@tessera/core';
import { ident, pgType, statusCol, errTypeCol, errMsgCol, CELL_OK, CELL_ERROR } from './sql';
import type { CatalogTable } from './catalog';
import { relationOf } from './relation';
import { isRetryableConflict } from './db';

/** Which rows a job covers: a rowid range, optionally only the row versions one table version wrote. */
export interface RowSelector {
  lo: number;
  hi: number;
  /** only row versions with this _v_min (the rows an insert or update wrote) */
  vMin?: number;
}

export interface BatchRow {
  _rowid: number;
  _v_min: number;
  [column: string]: unknown;
}

/** A computed cell's outcome. */
export type CellResult = { value: unknown } | { error: { type: string; message: string } };

/** Columns a set of computed columns reads (their inputs), plus the columns themselves. */
export function stageInputs(table: CatalogTable, columns: string[]): string[] {
  const names = new Set<string>(columns);
  for (const name of columns) {
    const col = table.columns.find((c) => c.name === name);
    for (const r of columnsOf(col?.computed?.expr ?? { op: 'literal', value: null })) names.add(r.column);
  }
  return [...names];
}

/**
 * Load the live rows of a batch that still have a pending cell among `columns`, with every input
 * those columns read and the status of each computed input (so a failed input can fail its
 * dependents and a pending one can wait).
 */
export async function loadBatch(db: pg.Pool, table: CatalogTable, columns: string[], sel: RowSelector): Promise<BatchRow[]> {
  const rel = relationOf(table);
  const read = stageInputs(table, columns);
  const computed = read.filter((n) => rel.column(n)?.computed);
  const select = [
    't0._rowid',
    't0._v_min',
    ...read.map((n) => `${rel.col(n)} AS ${ident(n)}`),
    ...computed.map((n) => `${rel.status(n)} AS ${ident(statusCol(n))}`),
  ];
  const pending = columns.map((n) => `t0.${ident(statusCol(n))} IS NULL`).join(' OR ');
  const { rows } = await db.query(
    `SELECT ${select.join(', ')} FROM ${rel.from}
      WHERE t0._rowid BETWEEN $1 AND $2 AND t0._v_max IS NULL ${sel.vMin === undefined ? '' : 'AND t0._v_min = $3'} AND (${pending})
      ORDER BY t0._rowid`,
    sel.vMin === undefined ? [sel.lo, sel.hi] : [sel.lo, sel.hi, sel.vMin],
  );
  return rows;
}

/**
 * Write computed cells back. Keyed by (_rowid, _v_min), so a stale job writes into the row version
 * it read, never into a newer one; writing the same results twice is harmless.
 */
export async function writeCells(
  db: pg.Pool | pg.PoolClient,
  table: CatalogTable,
  columns: string[],
  results: Array<{ _rowid: number; _v_min: number; cells: Record<string, CellResult> }>,
): Promise<void> {
  if (!results.length) return;
  const cols = columns.map((n) => table.columns.find((c) => c.name === n)!);
  const recordset = [
    '_rowid bigint',
    '_v_min int',
    ...cols.flatMap((c) => [
      `${ident(c.name)} ${pgType(c.type)}`,
      `${ident(statusCol(c.name))} smallint`,
      `${ident(errTypeCol(c.name))} text`,
      `${ident(errMsgCol(c.name))} text`,
    ]),
  ];
  const sets = cols.flatMap((c) => {
    const s = ident(statusCol(c.name));
    const keepUnlessSet = (p: string) => `${ident(p)} = CASE WHEN x.${s} IS NULL THEN t.${ident(p)} ELSE x.${ident(p)} END`;
    return [keepUnlessSet(c.name), `${s} = coalesce(x.${s}, t.${s})`, keepUnlessSet(errTypeCol(c.name)), keepUnlessSet(errMsgCol(c.name))];
  });
  const payload = results.map((r) => {
    const o: Record<string, unknown> = { _rowid: r._rowid, _v_min: r._v_min };
    for (const c of cols) {
      const cell = r.cells[c.name];
      if (!cell) continue;
      if ('error' in cell) {
        o[statusCol(c.name)] = CELL_ERROR;
        o[errTypeCol(c.name)] = cell.error.type;
        o[errMsgCol(c.name)] = cell.error.message;
      } else {
        o[c.name] = cell.value;
        o[statusCol(c.name)] = CELL_OK;
      }
    }
    return o;
  });
  const sql = `UPDATE ${table.physical} t SET ${sets.join(', ')}
       FROM jsonb_to_recordset($1::jsonb) AS x(${recordset.join(', ')})
      WHERE t._rowid = x._rowid AND t._v_min = x._v_min`;
  // one statement on its own (a pool, not a transaction's client): after a deadlock Postgres rolled
  // it back, so it is run again; in a transaction, the transaction is (withTx)
  const own = 'totalCount' in db;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.query(sql, [JSON.stringify(payload)]);
      return;
    } catch (e) {
      if (!own || !isRetryableConflict(e) || attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 20 * attempt * (1 + Math.random())));
    }
  }
}

/** Reset failed cells of `columns` (and their dependents) to pending, for `recompute --errors-only`. */
export async function resetErrors(db: pg.PoolClient, table: CatalogTable, columns: string[]): Promise<number> {
  let total = 0;
  for (const n of columns) {
    const { rowCount } = await db.query(
      `UPDATE ${table.physical} SET ${ident(statusCol(n))} = NULL, ${ident(errTypeCol(n))} = NULL, ${ident(errMsgCol(n))} = NULL
        WHERE _v_max IS NULL AND ${ident(statusCol(n))} = ${CELL_ERROR}`,
    );
    total += rowCount ?? 0;
  }
  return total;
}

/** Reset every cell of `columns` to pending (a full recompute). */
export async function resetCells(db: pg.PoolClient, table: CatalogTable, columns: string[]): Promise<void> {
  if (!columns.length) return;
  const sets = columns.flatMap((n) => [n, statusCol(n), errTypeCol(n), errMsgCol(n)].map((p) => `${ident(p)} = NULL`));
  await db.query(`UPDATE ${table.physical} SET ${sets.join(', ')} WHERE _v_max IS NULL`);
}

/** Rowid ranges of at most `size` live rows that have a pending cell in `columns` (for backfills and reconcile). */
export async function pendingRanges(
  db: pg.Pool | pg.PoolClient,
  table: CatalogTable,
  columns: string[],
  size: number,
  vMin?: number,
  excludeVersions: number[] = [],
): Promise<RowSelector[]> {
  const pending = columns.map((n) => `${ident(statusCol(n))} IS NULL`).join(' OR ');
  const { rows } = await db.query(
    `SELECT min(_rowid) AS lo, max(_rowid) AS hi FROM (
        SELECT _rowid, (row_number() OVER (ORDER BY _rowid) - 1) / $1 AS b FROM ${table.physical}
         WHERE _v_max IS NULL AND (${pending || 'false'}) AND _v_min <> ALL($2::int[]) ${vMin === undefined ? '' : 'AND _v_min = $3'}) r
      GROUP BY b ORDER BY lo`,
    vMin === undefined ? [size, excludeVersions] : [size, excludeVersions, vMin],
  );
  return rows.map((r) => ({ lo: r.lo, hi: r.hi, ...(vMin === undefined ? {} : { vMin }) }));
}
