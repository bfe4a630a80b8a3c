import type pg from 'pg';
import { TesseraError } from '@tessera/core';
import { rowidSequence, type CatalogTable } from './catalog';
import { ident, pgType, statusCol, errTypeCol, errMsgCol, CELL_OK, CELL_ERROR } from './sql';
import { versionFor, addVersionCounts } from './versions';
import { retireDerived, type DerivedVersion } from './derived';
import { withTx } from './db';
import type { Row } from './rows';

const CHUNK = 5000;

/**
 * What iterating one base row gave: its view rows (pos and the iterator's outputs), maybe with a
 * warning (kept on the done cell as errortype `Warning`), or why it failed.
 */
export type IterationOutcome = { rows: Row[]; warning?: string } | { error: { type: string; message: string } };

/** errortype of a done iteration cell that carries a warning (status stays done: never retried as failed). */
export const ITERATION_WARNING = 'Warning';

export interface IterationCommit {
  /** false when the base row version is gone or already iterated (a stale or repeated job) */
  committed: boolean;
  /** the view version the rows went into, when any were written or retired */
  version?: number;
  inserted: number;
  retired: number;
  /** versions of views of the view that retiring its old rows made */
  derived: DerivedVersion[];
}

/**
 * Commit one base row's iteration in one transaction: the view rows it produced replace the view
 * rows of that base row (if it was iterated before, with an older input), and the base row's
 * iteration cell records the count or the error. Keyed by the base row version and its pending
 * cell, so a repeated job, or one whose base row was updated meanwhile, changes nothing.
 */
export async function commitIteration(
  pool: pg.Pool,
  all: CatalogTable[],
  base: CatalogTable,
  view: CatalogTable,
  row: { rowid: number; vMin: number },
  outcome: IterationOutcome,
  work: { requestId: string; detail: string },
): Promise<IterationCommit> {
  const cell = view.name;
  return withTx(pool, async (c) => {
    const { rowCount } = await c.query(
      `SELECT 1 FROM ${base.physical} WHERE _rowid = $1 AND _v_min = $2 AND _v_max IS NULL AND ${ident(statusCol(cell))} IS NULL FOR UPDATE`,
      [row.rowid, row.vMin],
    );
    if (!rowCount) return { committed: false, inserted: 0, retired: 0, derived: [] };
    const rows = 'rows' in outcome ? outcome.rows : [];
    const { rows: old } = await c.query(`SELECT _rowid FROM ${view.physical} WHERE _base_rowid = $1 AND _v_max IS NULL`, [row.rowid]);
    let version: number | undefined;
    let derived: DerivedVersion[] = [];
    if (old.length || rows.length) {
      version = await versionFor(c, view.schema, view.id, work.requestId, 'insert', work.detail);
      if (old.length) {
        await c.query(`UPDATE ${view.physical} SET _v_max = $2 WHERE _base_rowid = $1 AND _v_max IS NULL`, [row.rowid, version]);
        derived = await retireDerived(
          c,
          all,
          view,
          old.map((r) => r._rowid),
          work.requestId,
          work.detail,
        );
      }
      await insertViewRows(c, view, version, row.rowid, rows);
      await addVersionCounts(c, view.schema, view.id, version, { inserts: rows.length, deletes: old.length });
    }
    if ('rows' in outcome) {
      const warning = outcome.warning ?? null;
      await c.query(
        `UPDATE ${base.physical} SET ${ident(cell)} = $3, ${ident(statusCol(cell))} = ${CELL_OK}, ${ident(errTypeCol(cell))} = $4, ${ident(errMsgCol(cell))} = $5 WHERE _rowid = $1 AND _v_min = $2`,
        [row.rowid, row.vMin, rows.length, warning === null ? null : ITERATION_WARNING, warning],
      );
    } else {
      await c.query(
        `UPDATE ${base.physical} SET ${ident(cell)} = NULL, ${ident(statusCol(cell))} = ${CELL_ERROR}, ${ident(errTypeCol(cell))} = $3, ${ident(errMsgCol(cell))} = $4 WHERE _rowid = $1 AND _v_min = $2`,
        [row.rowid, row.vMin, outcome.error.type, outcome.error.message],
      );
    }
    return { committed: true, ...(version === undefined ? {} : { version }), inserted: rows.length, retired: old.length, derived };
  });
}

async function insertViewRows(c: pg.PoolClient, view: CatalogTable, version: number, baseRowid: number, rows: Row[]): Promise<void> {
  const cols = view.columns.filter((col) => !col.computed);
  const names = cols.map((col) => ident(col.name)).join(', ');
  const recordset = cols.map((col) => `${ident(col.name)} ${pgType(col.type)}`).join(', ');
  const seq = rowidSequence(view).replace(/'/g, "''");
  for (let i = 0; i < rows.length; i += CHUNK) {
    try {
      await c.query(
        `INSERT INTO ${view.physical} (_rowid, _v_min, _base_rowid, ${names})
         SELECT nextval('${seq}'), $2, $3, ${names} FROM jsonb_to_recordset($1::jsonb) AS x(${recordset})`,
        [JSON.stringify(rows.slice(i, i + CHUNK)), version, baseRowid],
      );
    } catch (e) {
      const err = e as { code?: string; message?: string };
      // a duplicate (base row, pos) would be an iterator numbering its rows twice
      if (err.code === '23505') throw new TesseraError('E_ITERATOR', `view ${view.name}: the iterator produced a duplicate pos for base row ${baseRowid}`);
      throw e;
    }
  }
}
