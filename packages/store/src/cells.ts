import type pg from 'pg';
import { columnsOf } from '@tessera/core';
import { ident, pgType, statusCol, errTypeCol, errMsgCol, CELL_OK, CELL_ERROR } from './sql';
import type { CatalogTable } from './catalog';
import { relationOf } from './relation';
import { storedSize } from './stored-size';
import { recordset, type ParamColumn } from './recordset';
import { isRetryableConflict } from './db';

/** Which rows a job covers: a rowid range, optionally only the row versions one table version wrote. */
export interface RowSelector {
  lo: number;
  hi: number;
  /** only row versions with this _v_min (the rows an insert or update wrote) */
  vMin?: number;
}

/** A computed cell's state: pending (not computed yet), ok (a value) or error. */
export type CellState = 'pending' | 'ok' | 'error';

/** A live row of a batch, as read for computing: the row version read, its inputs' values and its cells' states. */
export interface BatchRow {
  rowid: number;
  /** the version that wrote this row version: cells are written back into it, never into a newer one */
  vMin: number;
  /** every column the batch's columns read, and the columns themselves, by name (a view's inherited ones too) */
  values: Record<string, unknown>;
  /** the state of each computed column among them */
  cells: Record<string, CellState>;
}

/** Cell outcomes of one row version (see writeCells). */
export interface CellWrite {
  rowid: number;
  vMin: number;
  cells: Record<string, CellResult>;
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

/** A batch read within a byte budget: its rows, and where the rows it left out begin. */
export interface BoundedBatch {
  rows: BatchRow[];
  /** the rowid of the first pending row left out by the budget (null: the batch was read whole) */
  next: number | null;
}

/**
 * The WHERE clause (and its parameters, from $1) of the live rows in a selector's range with a
 * pending cell among `columns`, the rows of the table being `t0`.
 */
export function pendingRows(columns: string[], sel: RowSelector): { where: string; values: unknown[] } {
  const pending = columns.map((n) => `t0.${ident(statusCol(n))} IS NULL`).join(' OR ');
  // the batch is a rowid range, so the primary key's range scan reads only it: `_v_min + 0` keeps
  // Postgres off the _v_min index, which statistics taken before this version was written (it is
  // not among their values, so rare) make look cheaper, and which reads the whole version per batch
  // (every batch of a 100,000-row insert scanned 100,000 rows: 40-55 ms each instead of 1-2)
  const version = sel.vMin === undefined ? '' : 'AND t0._v_min + 0 = $3';
  const values: unknown[] = sel.vMin === undefined ? [sel.lo, sel.hi] : [sel.lo, sel.hi, sel.vMin];
  return { where: `WHERE t0._rowid BETWEEN $1 AND $2 AND t0._v_max IS NULL ${version} AND (${pending})`, values };
}

/**
 * Load the live rows of a batch that still have a pending cell among `columns`, with every input
 * those columns read and the status of each computed input (so a failed input can fail its
 * dependents and a pending one can wait).
 */
export async function loadBatch(db: pg.Pool, table: CatalogTable, columns: string[], sel: RowSelector): Promise<BatchRow[]> {
  return (await loadBoundedBatch(db, table, columns, sel, Number.POSITIVE_INFINITY)).rows;
}

/**
 * loadBatch, stopping once the rows read hold `maxBytes` of variable-width values (text, JSON,
 * arrays), counted by Postgres without reading them (`octet_length` of text is its stored header,
 * `pg_column_size` the stored size): rows are bounded by count, but a batch of 1,000 rows of 1 MB
 * each would hold a gigabyte in one worker. At least one row is always read, however large.
 */
export async function loadBoundedBatch(db: pg.Pool, table: CatalogTable, columns: string[], sel: RowSelector, maxBytes: number): Promise<BoundedBatch> {
  const rel = relationOf(table);
  const read = stageInputs(table, columns);
  const computed = read.filter((n) => rel.column(n)?.computed);
  const select = [
    't0._rowid',
    't0._v_min',
    ...read.map((n) => `${rel.col(n)} AS ${ident(n)}`),
    ...computed.map((n) => `${rel.status(n)} AS ${ident(statusCol(n))}`),
  ];
  const { where, values } = pendingRows(columns, sel);
  const size = Number.isFinite(maxBytes) ? storedSize(rel, read) : null;
  // rows as arrays, decoded with plain loops: this runs for every row of every batch
  const { rows } = await db.query<unknown[]>(
    size === null
      ? { text: `SELECT ${select.join(', ')} FROM ${rel.from} ${where} ORDER BY t0._rowid`, values, rowMode: 'array' }
      : {
          // the bytes of the rows before each one, and the next row's rowid (the first left out, for the last row read)
          text: `SELECT * FROM (
            SELECT ${select.join(', ')}, lead(t0._rowid) OVER w AS "__tessera_next",
              coalesce(sum(${size}) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS "__tessera_before"
            FROM ${rel.from} ${where} WINDOW w AS (ORDER BY t0._rowid)) b
            WHERE "__tessera_before" < $${values.length + 1} ORDER BY 1`,
          values: [...values, maxBytes],
          rowMode: 'array',
        },
  );
  const last = rows[rows.length - 1];
  const next = size === null || !last ? null : ((last[2 + read.length + computed.length] as string | null) ?? null);
  return { rows: decodeBatchRows(rows, read, computed), next: next === null ? null : Number(next) };
}

/**
 * The per-row loop, kept out of the async loadBatch: V8 optimizes a function whose loops run hot,
 * and a small sync one compiles in a fraction of the time (and recompiles cheaply after a deopt).
 */
function decodeBatchRows(rows: unknown[][], read: string[], computed: string[]): BatchRow[] {
  const out: BatchRow[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const values: Record<string, unknown> = {};
    for (let k = 0; k < read.length; k++) values[read[k]!] = r[2 + k];
    const cells: Record<string, CellState> = {};
    for (let k = 0; k < computed.length; k++) cells[computed[k]!] = cellState(r[2 + read.length + k]);
    out[i] = { rowid: r[0] as number, vMin: r[1] as number, values, cells };
  }
  return out;
}

const cellState = (status: unknown): CellState => (status === CELL_OK ? 'ok' : status === CELL_ERROR ? 'error' : 'pending');

/**
 * Write computed cells back. Keyed by (_rowid, _v_min), so a stale job writes into the row version
 * it read, never into a newer one; writing the same results twice is harmless. Rows are grouped by
 * which cells they carry (a value, an error, nothing) and each group is one UPDATE setting only
 * those cells' physical columns, from typed arrays (a batch of plain values is one statement).
 */
export async function writeCells(db: pg.Pool | pg.PoolClient, table: CatalogTable, columns: string[], results: CellWrite[]): Promise<void> {
  const cols = columns.map((n) => table.columns.find((c) => c.name === n)!);
  const groups = groupByShape(results, cols);
  for (const [shape, rows] of groups) {
    const targets: ParamColumn[] = [];
    // a status is the same for every row of a group: a constant, not an array to send and parse
    const statuses: string[] = [];
    cols.forEach((c, k) => {
      if (shape[k] === 'v') {
        targets.push({ name: c.name, type: pgType(c.type), values: rows.map((r) => (r.cells[c.name] as { value: unknown }).value) });
        statuses.push(`${ident(statusCol(c.name))} = ${CELL_OK}`);
      } else if (shape[k] === 'e') {
        const errors = rows.map((r) => (r.cells[c.name] as { error: { type: string; message: string } }).error);
        statuses.push(`${ident(statusCol(c.name))} = ${CELL_ERROR}`);
        targets.push({ name: errTypeCol(c.name), type: 'text', values: errors.map((e) => e.type) });
        targets.push({ name: errMsgCol(c.name), type: 'text', values: errors.map((e) => e.message) });
      }
    });
    await updateByRowVersion(db, table, rows, targets, statuses);
  }
}

/** Results grouped by which cells they carry, per column: a value (v), an error (e) or nothing (-); rows with none are left out. */
function groupByShape(results: CellWrite[], cols: CatalogTable['columns']): Map<string, CellWrite[]> {
  const groups = new Map<string, CellWrite[]>();
  for (const r of results) {
    let shape = '';
    for (const c of cols) {
      const cell = r.cells[c.name];
      shape += !cell ? '-' : 'error' in cell ? 'e' : 'v';
    }
    if (!shape.includes('e') && !shape.includes('v')) continue;
    let g = groups.get(shape);
    if (!g) groups.set(shape, (g = []));
    g.push(r);
  }
  return groups;
}

function rowidBounds(rows: CellWrite[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    if (r.rowid < lo) lo = r.rowid;
    if (r.rowid > hi) hi = r.rowid;
  }
  return [lo, hi];
}

/** One UPDATE of the rows' versions, setting each target column from its values, and the `constants` (`col = value`). */
async function updateByRowVersion(
  db: pg.Pool | pg.PoolClient,
  table: CatalogTable,
  rows: CellWrite[],
  targets: ParamColumn[],
  constants: string[],
): Promise<void> {
  const sets = [...targets.map((t) => `${ident(t.name)} = x.${ident(t.name)}`), ...constants].join(', ');
  const from = recordset(
    [{ name: '_rowid', type: 'bigint', values: rows.map((r) => r.rowid) }, { name: '_v_min', type: 'int', values: rows.map((r) => r.vMin) }, ...targets],
    'x',
  );
  // the rowid bounds let Postgres read only the batch's range: with the exact row count unnest
  // gives it, it otherwise hashes the whole table for every batch written (a scan per job)
  const [lo, hi] = rowidBounds(rows);
  const bounds = `t._rowid BETWEEN $${from.params.length + 1} AND $${from.params.length + 2}`;
  const sql = `UPDATE ${table.physical} t SET ${sets} FROM ${from.sql} WHERE ${bounds} AND t._rowid = x._rowid AND t._v_min = x._v_min`;
  const params = [...from.params, lo, hi];
  // one statement on its own (a pool, not a transaction's client): after a deadlock Postgres rolled
  // it back, so it is run again; in a transaction, the transaction is (withTx)
  const own = 'totalCount' in db;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.query(sql, params);
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

/** Pending cells among live rows, leaving out rows of the `aborted` versions. */
export function pendingCells(db: pg.Pool, table: CatalogTable, aborted: number[]): Promise<number> {
  return countPending(db, table, '_v_min <> ALL($1::int[])', [aborted]);
}

/**
 * Pending cells among the live rows one version wrote (by the version's own index: the cost is the
 * version's size, not the table's), for a writer waiting on its write.
 */
export function pendingCellsOf(db: pg.Pool, table: CatalogTable, version: number): Promise<number> {
  return countPending(db, table, '_v_min = $1', [version]);
}

/** Pending cells of every computed column among the live rows that `where` keeps. */
async function countPending(db: pg.Pool, table: CatalogTable, where: string, params: unknown[]): Promise<number> {
  const computed = table.columns.filter((c) => c.computed);
  if (!computed.length) return 0;
  const sum = computed.map((c) => `count(*) FILTER (WHERE ${ident(statusCol(c.name))} IS NULL)`).join(' + ');
  const { rows } = await db.query(`SELECT ${sum} AS n FROM ${table.physical} WHERE _v_max IS NULL AND ${where}`, params);
  return Number(rows[0].n);
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
  const where = `_v_max IS NULL AND (${pending || 'false'}) AND _v_min <> ALL($1::int[]) ${vMin === undefined ? '' : 'AND _v_min = $2'}`;
  const params = vMin === undefined ? [excludeVersions] : [excludeVersions, vMin];
  const tag = vMin === undefined ? {} : { vMin };
  // the rows of an insert have consecutive rowids: their ranges are counted out, not sorted and numbered
  const { rows: span } = await db.query(`SELECT min(_rowid) AS lo, max(_rowid) AS hi, count(*) AS n FROM ${table.physical} WHERE ${where}`, params);
  const n = Number(span[0].n);
  if (!n) return [];
  const lo = Number(span[0].lo);
  if (Number(span[0].hi) - lo + 1 === n) {
    return Array.from({ length: Math.ceil(n / size) }, (_, b) => ({ lo: lo + b * size, hi: lo + Math.min(n, (b + 1) * size) - 1, ...tag }));
  }
  const { rows } = await db.query(
    `SELECT min(_rowid) AS lo, max(_rowid) AS hi FROM (
        SELECT _rowid, (row_number() OVER (ORDER BY _rowid) - 1) / $${params.length + 1} AS b FROM ${table.physical} WHERE ${where}) r
      GROUP BY b ORDER BY lo`,
    [...params, size],
  );
  return rows.map((r) => ({ lo: Number(r.lo), hi: Number(r.hi), ...tag }));
}
