import type pg from 'pg';
import { TesseraError, validateValue, typeFromSpec, dependentsOf } from '@tessera/core';
import { ident, pgType, statusCol, errTypeCol, errMsgCol, CELL_OK } from './sql';
import { rowidSequence, type CatalogColumn, type CatalogTable } from './catalog';
import { bumpVersion, setVersionCounts } from './versions';
import { copyEncoder, COPY_NULL } from './copy-text';
import { copyIn } from './copy-in';
import { LEFT_PENDING, type InlineCells } from './inline-cells';

export type Row = Record<string, unknown>;
const CHUNK = 5000;

export const baseColumns = (t: CatalogTable) => t.columns.filter((c) => !c.computed && !(t.kind === 'view' && c.name === 'pos'));
export const keyColumns = (t: CatalogTable) => t.columns.filter((c) => c.type.primaryKey);

/**
 * A checker of rows against `columns` (the table's base columns by default); a bad row is reported
 * by its number in the request, its column and the problem.
 */
export function rowValidator(table: CatalogTable, columns: CatalogColumn[], opts: { partial?: boolean } = {}): (row: Row, index: number) => Row {
  const known = new Set(columns.map((c) => c.name));
  const types = columns.map((c) => typeFromSpec(c.type));
  // where a bad row is: built only when something is wrong (the check runs per row, so it makes no closure)
  const where = (i: number) => `${table.name} row ${i + 1}`;
  return (row, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new TesseraError('E_BAD_ROW', `${where(i)}: expected an object, got ${JSON.stringify(row)}`);
    for (const k of Object.keys(row)) {
      if (!known.has(k)) {
        const computed = table.columns.some((c) => c.name === k && c.computed);
        throw new TesseraError(
          'E_BAD_ROW',
          `${where(i)}: ${computed ? `column ${k} is computed and cannot be written` : `unknown column ${k}`} (columns: ${[...known].join(', ')})`,
        );
      }
    }
    // the row itself when every value is already as stored (the usual case: no copy per row); a
    // copy with the values the checks converted otherwise
    let out: Row | undefined;
    for (let k = 0; k < columns.length; k++) {
      const col = columns[k]!;
      if (!(col.name in row)) continue;
      const given = row[col.name];
      let value: unknown;
      try {
        value = validateValue(col.name, types[k]!, given);
      } catch (e) {
        throw new TesseraError('E_BAD_ROW', `${where(i)}: ${(e as Error).message}`);
      }
      if (value === null && !col.type.nullable) throw new TesseraError('E_BAD_ROW', `${where(i)}: column ${col.name} may not be null`);
      if (value !== given) {
        out ??= { ...row };
        out[col.name] = value;
      }
    }
    if (!opts.partial)
      for (const col of columns) {
        if (!(col.name in row) && !col.type.nullable) throw new TesseraError('E_BAD_ROW', `${where(i)}: missing required column ${col.name}`);
      }
    return out ?? row;
  };
}

/** Check rows against the table's base columns; the first bad row is reported by index, column and problem. */
export function validateRows(table: CatalogTable, rows: Row[], columns = baseColumns(table)): Row[] {
  const check = rowValidator(table, columns);
  return rows.map(check);
}

/**
 * Check rows that carry a key and some of the base columns (updates, upserts): each value against
 * its column; a column the row does not name is left as it is, not reported missing.
 */
export function validatePartialRows(table: CatalogTable, rows: Row[]): Row[] {
  const check = rowValidator(table, baseColumns(table), { partial: true });
  return rows.map(check);
}

const recordsetDef = (cols: CatalogColumn[]) => cols.map((c) => `${ident(c.name)} ${pgType(c.type)}`).join(', ');
const toJson = (rows: Row[]) => JSON.stringify(rows);

/** Insert validated rows as a new version. Returns the version and how many rows it added. */
export async function insertRows(c: pg.PoolClient, schema: string, table: CatalogTable, rows: Row[]): Promise<{ version: number; count: number }> {
  const version = await bumpVersion(c, schema, table.id, 'insert', `inserted ${rows.length} row(s)`);
  await insertRowsAt(c, table, rows, version);
  await setVersionCounts(c, schema, table.id, version, { inserts: rows.length });
  return { version, count: rows.length };
}

/**
 * Insert validated rows under an open version (no counts kept); returns how many. The rows go in
 * with COPY, encoded while Postgres stores what it was sent (an INSERT of parameter arrays would
 * first build every array, then wait while Postgres parses it), numbered in row order by a run of
 * rowids drawn from the table's sequence at once (see drawRowids). `rows` may be produced as they are
 * written (`count` of them): an error it throws cancels the COPY and is thrown as it is.
 */
export async function insertRowsAt(
  c: pg.PoolClient,
  table: CatalogTable,
  rows: Iterable<Row>,
  version: number,
  count = Array.isArray(rows) ? rows.length : Number.NaN,
  inline?: InlineCells,
  /** the cells `inline` filled, by column, added to as the rows are written */
  filled?: Record<string, number>,
): Promise<number> {
  if (Number.isNaN(count)) throw new TypeError('insertRowsAt: rows produced as they are written need their count');
  if (!count) return 0;
  const cols = baseColumns(table);
  const encoders = cols.map((col) => copyEncoder(pgType(col.type)));
  const encoding = inline?.columns.length ? inlineEncoding(table, inline) : undefined;
  const tally = encoding ? new Array<number>(encoding.encoders.length).fill(0) : [];
  try {
    const firstRowid = await drawRowids(c, table, count);
    const names = ['_rowid', '_v_min', ...cols.map((col) => col.name), ...(encoding?.names ?? [])].map(ident).join(', ');
    await copyIn(c, `COPY ${table.physical} (${names}) FROM STDIN`, copyLines(rows, cols, encoders, firstRowid, count, String(version), encoding, tally));
  } catch (e) {
    throw describeWriteError(table, e);
  }
  if (filled && inline) inline.columns.forEach((name, k) => (filled[name] = (filled[name] ?? 0) + tally[k]!));
  return count;
}

/**
 * The first of `n` new rowids of a table, the rest following it: the run is drawn in one statement,
 * where a nextval per row (the column default, or an array of them) cost a COPY about what a btree
 * index does (0.5 µs a row). Two statements' runs cannot overlap: every insert into a table comes
 * after its version bump, whose UPDATE holds the table's catalog row until the commit, so only one
 * writer draws from a table's sequence at a time (views' rows draw theirs one by one, from their own).
 */
async function drawRowids(c: pg.PoolClient, table: CatalogTable, n: number): Promise<number> {
  const seq = rowidSequence(table).replace(/'/g, "''");
  const { rows } = await c.query(`SELECT setval('${seq}', nextval('${seq}') + $1::bigint - 1)::text AS last`, [n]);
  const last = Number(rows[0].last);
  if (!Number.isSafeInteger(last)) throw new Error(`${table.name}: rowid ${rows[0].last} is past what this writer numbers exactly`);
  return last - n + 1;
}

/** The COPY columns of the cells an insert fills (each value and its status), and their encoders. */
function inlineEncoding(table: CatalogTable, inline: InlineCells) {
  const cols = inline.columns.map((name) => {
    const col = table.columns.find((c) => c.name === name && c.computed);
    if (!col) throw new Error(`insert: ${table.name} has no computed column ${name} to fill`);
    return col;
  });
  return {
    names: cols.flatMap((col) => [col.name, statusCol(col.name)]),
    encoders: cols.map((col) => copyEncoder(pgType(col.type))),
    cells: inline.cells,
  };
}

function* copyLines(
  rows: Iterable<Row>,
  cols: CatalogColumn[],
  encoders: Array<(v: unknown) => string>,
  firstRowid: number,
  count: number,
  version: string,
  filled?: ReturnType<typeof inlineEncoding>,
  /** per inline column, the cells filled (not left pending) */
  tally: number[] = [],
): Generator<string> {
  let rowid = firstRowid;
  const end = firstRowid + count;
  // lines joined into parts of about CHUNK_CHARS here, not yielded one by one: a generator's resume
  // per row cost about as much as building the row's line
  let part = '';
  for (const row of rows) {
    if (rowid >= end) throw new Error(`insert: more rows than the ${count} announced`);
    part += `${rowid++}\t${version}`;
    for (let k = 0; k < cols.length; k++) part += `\t${encoders[k]!(row[cols[k]!.name])}`;
    if (filled) {
      const cells = filled.cells(row);
      for (let k = 0; k < filled.encoders.length; k++) {
        const v = cells[k];
        if (v === LEFT_PENDING) part += `\t${COPY_NULL}\t${COPY_NULL}`;
        else {
          part += `\t${filled.encoders[k]!(v)}\t${CELL_OK}`;
          tally[k]!++;
        }
      }
    }
    part += '\n';
    if (part.length >= CHUNK_CHARS) {
      yield part;
      part = '';
    }
  }
  if (part) yield part;
}

/** About this many characters of COPY text per part copyLines gives (copyIn writes about 256 KB at a time). */
const CHUNK_CHARS = 64 * 1024;

export interface UpdateOutcome {
  count: number;
  /** computed columns reset to pending */
  reset: string[];
  /** base columns written */
  changed: string[];
  /** rowids of the rows updated */
  rowids: number[];
}

/**
 * Update rows by primary key as a new version. Each updated row gets a new physical row version;
 * computed columns that depend on a changed column are reset (to be recomputed), the others are
 * carried over unchanged.
 */
export async function updateRows(c: pg.PoolClient, schema: string, table: CatalogTable, rows: Row[]): Promise<UpdateOutcome & { version: number }> {
  if (!keyColumns(table).length) throw new TesseraError('E_BAD_ROW', `${table.name}: updates need a primary key`);
  const version = await bumpVersion(c, schema, table.id, 'update', `updated ${rows.length} row(s)`);
  const r = await updateRowsAt(c, table, rows, version);
  await setVersionCounts(c, schema, table.id, version, { updates: r.count });
  return { version, ...r };
}

/** Update rows by primary key under an open version (see updateRows); every key must name a live row. */
export async function updateRowsAt(c: pg.PoolClient, table: CatalogTable, rows: Row[], version: number): Promise<UpdateOutcome> {
  const keys = keyColumns(table);
  if (!keys.length) throw new TesseraError('E_BAD_ROW', `${table.name}: updates need a primary key`);
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    requireKey(table, keys, r);
    const sig = Object.keys(r).sort().join(',');
    groups.set(sig, [...(groups.get(sig) ?? []), r]);
  }
  const allReset = new Set<string>();
  const allChanged = new Set<string>();
  const rowids: number[] = [];
  let count = 0;
  for (const group of groups.values()) {
    const changed = Object.keys(group[0]!).filter((k) => !keys.some((key) => key.name === k));
    const reset = dependentsOf(table.columns, changed);
    reset.forEach((r) => allReset.add(r));
    changed.forEach((ch) => allChanged.add(ch));
    const changedCols = table.columns.filter((col) => changed.includes(col.name));
    const rsCols = [...keys, ...changedCols];
    const physical = (col: CatalogColumn) => (col.computed ? [col.name, statusCol(col.name), errTypeCol(col.name), errMsgCol(col.name)] : [col.name]);
    const targetCols = ['_rowid', '_v_min', ...table.columns.flatMap(physical)];
    const sources = [
      'o._rowid',
      '$2',
      ...table.columns.flatMap((col) => {
        if (changed.includes(col.name)) return [`u.${ident(col.name)}`];
        if (reset.includes(col.name)) return ['NULL', 'NULL', 'NULL', 'NULL'];
        return physical(col).map((p) => `o.${ident(p)}`);
      }),
    ];
    const join = keys.map((k) => `t.${ident(k.name)} = u.${ident(k.name)}`).join(' AND ');
    const joinO = keys.map((k) => `o.${ident(k.name)} = u.${ident(k.name)}`).join(' AND ');
    for (let i = 0; i < group.length; i += CHUNK) {
      const chunk = group.slice(i, i + CHUNK);
      const { rowCount, rows: written } = await c
        .query(
          `WITH u AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${recordsetDef(rsCols)})),
                o AS (UPDATE ${table.physical} t SET _v_max = $2 FROM u WHERE ${join} AND t._v_max IS NULL RETURNING t.*)
           INSERT INTO ${table.physical} (${targetCols.map(ident).join(', ')})
           SELECT ${sources.join(', ')} FROM o JOIN u ON ${joinO} RETURNING _rowid`,
          [toJson(chunk), version],
        )
        .catch((e) => {
          throw describeWriteError(table, e);
        });
      rowids.push(...written.map((w) => w._rowid as number));
      if (rowCount !== chunk.length) {
        const missing = await missingKeys(c, table, chunk, keys, version);
        throw new TesseraError(
          'E_NO_SUCH_ROW',
          `${table.name}: no row with ${missing
            .slice(0, 5)
            .map((m) => JSON.stringify(m))
            .join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}; nothing was updated`,
        );
      }
      count += rowCount;
    }
  }
  return { count, reset: [...allReset], changed: [...allChanged], rowids };
}

/**
 * Insert rows whose key is new and update those whose key names a live row, as one new version of
 * kind `upsert`. Rows of one request that share a key are merged in order (later values win).
 * A new key must carry every required column; an existing one only the columns to change.
 */
export async function upsertRows(
  c: pg.PoolClient,
  schema: string,
  table: CatalogTable,
  rows: Row[],
): Promise<UpdateOutcome & { version: number; inserted: number; updated: number }> {
  if (!keyColumns(table).length) throw new TesseraError('E_BAD_ROW', `${table.name}: upserts need a primary key`);
  const version = await bumpVersion(c, schema, table.id, 'upsert', `upserted ${rows.length} row(s)`);
  const r = await upsertRowsAt(c, table, rows, version);
  await setVersionCounts(c, schema, table.id, version, { inserts: r.inserted, updates: r.updated });
  return { version, ...r };
}

/** Upsert rows under an open version (see upsertRows). */
export async function upsertRowsAt(
  c: pg.PoolClient,
  table: CatalogTable,
  rows: Row[],
  version: number,
): Promise<UpdateOutcome & { inserted: number; updated: number }> {
  const keys = keyColumns(table);
  if (!keys.length) throw new TesseraError('E_BAD_ROW', `${table.name}: upserts need a primary key`);
  // one row per key, remembering the first row number for messages
  const merged = new Map<string, { row: Row; index: number }>();
  rows.forEach((r, index) => {
    requireKey(table, keys, r, index);
    const k = JSON.stringify(keys.map((key) => r[key.name]));
    const prev = merged.get(k);
    merged.set(k, prev ? { row: { ...prev.row, ...r }, index: prev.index } : { row: r, index });
  });
  const entries = [...merged.values()];
  const existing = await liveKeys(
    c,
    table,
    keys,
    entries.map((e) => e.row),
  );
  const fresh: Row[] = [];
  const known: Row[] = [];
  for (const [i, e] of entries.entries()) {
    if (existing.has(i)) known.push(e.row);
    else {
      const missing = baseColumns(table).find((col) => !col.type.nullable && (e.row[col.name] === undefined || e.row[col.name] === null));
      if (missing)
        throw new TesseraError(
          'E_BAD_ROW',
          `${table.name} row ${e.index + 1}: missing required column ${missing.name} (the key is new, so the row is inserted)`,
        );
      fresh.push(e.row);
    }
  }
  const inserted = fresh.length ? await insertRowsAt(c, table, fresh, version) : 0;
  const updated = known.length ? await updateRowsAt(c, table, known, version) : { count: 0, reset: [], changed: [], rowids: [] };
  return { ...updated, count: inserted + updated.count, inserted, updated: updated.count };
}

/** Positions in `rows` of those whose key names a live row (compared by Postgres, so values are typed as the column). */
async function liveKeys(c: pg.PoolClient, table: CatalogTable, keys: CatalogColumn[], rows: Row[]): Promise<Set<number>> {
  const found = new Set<number>();
  const join = keys.map((k) => `t.${ident(k.name)} = u.${ident(k.name)}`).join(' AND ');
  for (let i = 0; i < rows.length; i += CHUNK) {
    const { rows: hits } = await c.query(
      `SELECT u.__i FROM jsonb_to_recordset($1::jsonb) AS u(__i int, ${recordsetDef(keys)})
        WHERE EXISTS (SELECT 1 FROM ${table.physical} t WHERE ${join} AND t._v_max IS NULL)`,
      [toJson(rows.slice(i, i + CHUNK).map((r, k) => ({ __i: i + k, ...Object.fromEntries(keys.map((key) => [key.name, r[key.name]])) })))],
    );
    for (const h of hits) found.add(h.__i as number);
  }
  return found;
}

function requireKey(table: CatalogTable, keys: CatalogColumn[], row: Row, index?: number) {
  for (const k of keys) {
    if (row[k.name] === undefined || row[k.name] === null) {
      throw new TesseraError('E_BAD_ROW', `${table.name}${index === undefined ? '' : ` row ${index + 1}`}: the primary key ${k.name} is missing`);
    }
  }
}

/** Delete rows by primary key as a new version (the rows stay readable at earlier versions). */
export async function deleteRows(
  c: pg.PoolClient,
  schema: string,
  table: CatalogTable,
  keyRows: Row[],
): Promise<{ version: number; count: number; rowids: number[] }> {
  const version = await bumpVersion(c, schema, table.id, 'delete', `deleted ${keyRows.length} row(s)`);
  const rowids = await deleteRowsAt(c, table, keyRows, version);
  await setVersionCounts(c, schema, table.id, version, { deletes: rowids.length });
  return { version, count: rowids.length, rowids };
}

/** Retire the live rows with these keys under an open version; returns their rowids (keys with no live row are skipped). */
export async function deleteRowsAt(c: pg.PoolClient, table: CatalogTable, keyRows: Row[], version: number): Promise<number[]> {
  const keys = keyColumns(table);
  if (!keys.length) throw new TesseraError('E_BAD_ROW', `${table.name}: deletes need a primary key`);
  const rowids: number[] = [];
  const join = keys.map((k) => `t.${ident(k.name)} = u.${ident(k.name)}`).join(' AND ');
  for (let i = 0; i < keyRows.length; i += CHUNK) {
    try {
      const { rows } = await c.query(
        `UPDATE ${table.physical} t SET _v_max = $2 FROM jsonb_to_recordset($1::jsonb) AS u(${recordsetDef(keys)}) WHERE ${join} AND t._v_max IS NULL RETURNING t._rowid`,
        [toJson(keyRows.slice(i, i + CHUNK)), version],
      );
      rowids.push(...rows.map((r) => r._rowid as number));
    } catch (e) {
      throw describeWriteError(table, e);
    }
  }
  return rowids;
}

/** Keys of `chunk` that match no current row (rows this version already retired count as matched). */
async function missingKeys(c: pg.PoolClient, table: CatalogTable, chunk: Row[], keys: CatalogColumn[], version: number): Promise<Row[]> {
  const join = keys.map((k) => `t.${ident(k.name)} = u.${ident(k.name)}`).join(' AND ');
  const { rows } = await c.query(
    `SELECT ${keys.map((k) => `u.${ident(k.name)}`).join(', ')} FROM jsonb_to_recordset($1::jsonb) AS u(${recordsetDef(keys)})
      WHERE NOT EXISTS (SELECT 1 FROM ${table.physical} t WHERE ${join} AND (t._v_max IS NULL OR t._v_max = $2))`,
    [toJson(chunk), version],
  );
  return rows;
}

/**
 * A write Postgres refused because of the data (a duplicate key, a value that does not fit) is the
 * request's fault, named as such; anything else (a lost connection) is left as it is, to be retried.
 */
export function describeWriteError(table: CatalogTable, e: unknown): Error {
  const err = e as { code?: string; detail?: string; message?: string };
  if (err.code === '23505')
    return new TesseraError('E_DUPLICATE_KEY', `${table.name}: ${err.detail ?? 'duplicate primary key'} (use update or upsert to change an existing row)`);
  if (typeof err.code === 'string' && (err.code.startsWith('22') || err.code.startsWith('23'))) {
    return new TesseraError('E_BAD_ROW', `${table.name}: a value does not fit its column: ${err.message}${err.detail ? ` (${err.detail})` : ''}`);
  }
  return e as Error;
}
