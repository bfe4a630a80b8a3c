import type pg from 'pg';
import { TesseraError } from '@tessera/core';
import { ident, statusCol, errTypeCol, errMsgCol } from './sql';
import type { CatalogTable } from './catalog';
import { relationOf, type Relation } from './relation';

export interface SelectOptions {
  /** read the table as it was at this version */
  asOf?: number;
  columns?: string[];
  /** include `<col>_errortype` / `<col>_errormsg` for computed columns */
  withErrors?: boolean;
  limit?: number;
  offset?: number;
  /** equality filters on columns */
  where?: Record<string, unknown>;
  orderBy?: string[];
}

/**
 * Rows as of the latest (or a given) version, ordered by insertion unless asked otherwise. A view's
 * rows carry the columns it inherits, read from its base rows as they were at that version.
 */
export async function selectRows(db: pg.Pool, table: CatalogTable, opts: SelectOptions = {}): Promise<Record<string, unknown>[]> {
  const v = opts.asOf ?? table.version;
  if (v < 1 || v > table.version) throw new TesseraError('E_VERSION', `${table.name} has versions 1..${table.version}, not ${v}`);
  const rel = relationOf(table, v === table.version ? { mode: 'live' } : { mode: 'asOf', version: v });
  const own = table.columns.filter((c) => c.addedVersion <= v);
  const visible = [...rel.inherited, ...own];
  const names = opts.columns ?? visible.map((c) => c.name);
  const select: string[] = [];
  for (const n of names) {
    const col = visible.find((c) => c.name === n);
    if (!col) throw new TesseraError('E_UNKNOWN_COLUMN', `${table.name} has no column ${n}${v !== table.version ? ` at version ${v}` : ''}`);
    select.push(`${rel.col(n)} AS ${ident(n)}`);
    if (opts.withErrors && col.computed) {
      select.push(`${rel.cell(n, errTypeCol)} AS ${ident(`${n}_errortype`)}`, `${rel.cell(n, errMsgCol)} AS ${ident(`${n}_errormsg`)}`);
    }
  }
  const params: unknown[] = [v];
  const filters = ['t0._v_min <= $1', '(t0._v_max IS NULL OR t0._v_max > $1)'];
  for (const [k, val] of Object.entries(opts.where ?? {})) {
    if (!visible.some((c) => c.name === k)) throw new TesseraError('E_UNKNOWN_COLUMN', `${table.name} has no column ${k}`);
    params.push(val);
    filters.push(`${rel.col(k)} = $${params.length}`);
  }
  for (const o of opts.orderBy ?? []) if (!visible.some((c) => c.name === o)) throw new TesseraError('E_UNKNOWN_COLUMN', `${table.name} has no column ${o}`);
  const order = opts.orderBy?.length ? opts.orderBy.map((o) => rel.col(o)).join(', ') : 't0._rowid';
  const { rows } = await db.query(
    `SELECT ${select.join(', ') || '1'} FROM ${rel.from} WHERE ${filters.join(' AND ')} ORDER BY ${order}
      ${opts.limit === undefined ? '' : `LIMIT ${Math.max(0, Math.floor(opts.limit))}`} ${opts.offset ? `OFFSET ${Math.floor(opts.offset)}` : ''}`,
    params,
  );
  return rows;
}

export interface ColumnStatus {
  column: string;
  done: number;
  pending: number;
  failed: number;
}

/** Per computed column: cells done, pending and failed among the live rows. */
export async function columnStatus(db: pg.Pool, table: CatalogTable): Promise<{ rows: number; columns: ColumnStatus[] }> {
  const computed = table.columns.filter((c) => c.computed);
  const parts = computed.flatMap((c) => {
    const s = ident(statusCol(c.name));
    return [`count(*) FILTER (WHERE ${s} = 1)`, `count(*) FILTER (WHERE ${s} IS NULL)`, `count(*) FILTER (WHERE ${s} = 2)`];
  });
  const { rows } = await db.query(`SELECT count(*) AS n ${parts.map((p, i) => `, ${p} AS c${i}`).join('')} FROM ${table.physical} WHERE _v_max IS NULL`);
  const r = rows[0];
  return {
    rows: Number(r.n),
    columns: computed.map((c, i) => ({
      column: c.name,
      done: Number(r[`c${i * 3}`]),
      pending: Number(r[`c${i * 3 + 1}`]),
      failed: Number(r[`c${i * 3 + 2}`]),
    })),
  };
}

export interface CellError {
  column: string;
  key: Record<string, unknown>;
  errortype: string;
  errormsg: string;
}

/** Failed cells with their messages, keyed by the row's primary key. */
export async function listErrors(db: pg.Pool, table: CatalogTable, opts: { column?: string; limit?: number } = {}): Promise<CellError[]> {
  const rel = relationOf(table);
  const keyCols = rowKey(table, rel);
  const out: CellError[] = [];
  for (const c of table.columns.filter((c) => c.computed && (!opts.column || c.name === opts.column))) {
    const { rows } = await db.query(
      `SELECT ${keyCols.map((k) => `${k === '_rowid' ? 't0._rowid' : rel.col(k)} AS ${ident(k)}`).join(', ')}, t0.${ident(errTypeCol(c.name))} AS et, t0.${ident(errMsgCol(c.name))} AS em
         FROM ${rel.from} WHERE t0._v_max IS NULL AND t0.${ident(statusCol(c.name))} = 2 ORDER BY t0._rowid LIMIT $1`,
      [opts.limit ?? 100],
    );
    for (const r of rows) out.push({ column: c.name, key: Object.fromEntries(keyCols.map((k) => [k, r[k]])), errortype: r.et, errormsg: r.em });
  }
  return out;
}

/** What names a row to a user: its primary key (a view's: the inherited key and pos), else its rowid. */
export function rowKey(table: CatalogTable, rel: Relation = relationOf(table)): string[] {
  const keys = [...[...rel.inherited, ...table.columns].filter((c) => c.type.primaryKey).map((c) => c.name), ...rel.positions];
  return keys.length ? keys : ['_rowid'];
}
