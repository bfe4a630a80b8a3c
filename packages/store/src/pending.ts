import type pg from 'pg';
import { ident, statusCol } from './sql';
import type { CatalogTable } from './catalog';
import type { RowSelector } from './cells';

/**
 * What the fleet's periodic reconcile asks of the record, kept cheap when there is nothing to do:
 * a table is marked clean at a version when it has no pending cell; while nothing has happened
 * since (same latest version, same commit time), a tick costs one catalog lookup. Writes since a
 * clean mark that only add row versions (insert, update, delete) are checked through the _v_min
 * index rather than by scanning the table; anything else (recompute, schema change) scans once.
 */

/** Kinds of version that make pending cells only in the row versions they write. */
const ROW_KINDS = new Set(['insert', 'update', 'upsert', 'delete']);

export interface TableMark {
  /** the latest version and when it was committed: changes with every write and every revert */
  signature: string;
  version: number;
  kind: string;
  /** how long ago the latest version was committed */
  ageMs: number;
}

/** Where pending cells may be, given the table's clean mark: nowhere, after a version, or anywhere. */
export type PendingScope = { clean: true } | { clean: false; afterVersion?: number };

export async function currentMark(db: pg.Pool, schema: string, tableId: number): Promise<TableMark> {
  const { rows } = await db.query(
    `SELECT version, kind, created_at, extract(epoch FROM now() - created_at) * 1000 AS age_ms FROM ${ident(schema)}.versions WHERE table_id = $1 ORDER BY version DESC LIMIT 1`,
    [tableId],
  );
  const r = rows[0];
  return r
    ? { version: r.version, kind: r.kind, ageMs: Number(r.age_ms), signature: `${r.version}@${new Date(r.created_at).toISOString()}` }
    : { version: 0, kind: 'none', ageMs: Infinity, signature: '0' };
}

export async function pendingScope(db: pg.Pool, schema: string, tableId: number, mark: TableMark): Promise<PendingScope> {
  const s = ident(schema);
  const { rows } = await db.query(`SELECT version, signature FROM ${s}.reconciled WHERE table_id = $1`, [tableId]);
  const clean = rows[0] as { version: number; signature: string } | undefined;
  if (!clean) return { clean: false };
  if (clean.signature === mark.signature) return { clean: true };
  if (mark.version < clean.version) return { clean: false }; // reverted past the mark
  const { rows: kinds } = await db.query(`SELECT DISTINCT kind FROM ${s}.versions WHERE table_id = $1 AND version > $2`, [tableId, clean.version]);
  return kinds.every((k) => ROW_KINDS.has(k.kind)) ? { clean: false, afterVersion: clean.version } : { clean: false };
}

export async function markClean(db: pg.Pool, schema: string, tableId: number, mark: TableMark): Promise<void> {
  await db.query(
    `INSERT INTO ${ident(schema)}.reconciled (table_id, version, signature) VALUES ($1, $2, $3)
     ON CONFLICT (table_id) DO UPDATE SET version = EXCLUDED.version, signature = EXCLUDED.signature, at = now()`,
    [tableId, mark.version, mark.signature],
  );
}

export interface PendingQuery {
  columns: string[];
  /** rows per range */
  size: number;
  /** rows of these versions are left out (aborted: they will not be computed) */
  excludeVersions: number[];
  /** only row versions written after this version (uses the _v_min index) */
  afterVersion?: number;
  /** rows a live job covers are left out */
  covered?: RowSelector[];
  /** rows of versions committed less than this long ago are left out: their own jobs may be on the way */
  graceMs?: number;
}

const pendingWhere = (columns: string[]) => columns.map((n) => `${ident(statusCol(n))} IS NULL`).join(' OR ') || 'false';

/** Is any cell of `columns` pending in a live row (in scope)? Stops at the first one. */
export async function anyPending(db: pg.Pool, table: CatalogTable, q: Pick<PendingQuery, 'columns' | 'excludeVersions' | 'afterVersion'>): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT EXISTS (SELECT 1 FROM ${table.physical} WHERE _v_max IS NULL AND (${pendingWhere(q.columns)}) AND _v_min <> ALL($1::int[]) AND _v_min > $2) AS any`,
    [q.excludeVersions, q.afterVersion ?? -1],
  );
  return rows[0].any === true;
}

/** Rowid ranges of at most `size` live rows with a pending cell that no live job covers. */
export async function uncoveredPending(db: pg.Pool, schema: string, table: CatalogTable, q: PendingQuery): Promise<RowSelector[]> {
  const covered = mergeRanges(q.covered ?? []);
  const { rows } = await db.query(
    `SELECT min(_rowid) AS lo, max(_rowid) AS hi FROM (
        SELECT _rowid, (row_number() OVER (ORDER BY _rowid) - 1) / $1 AS b FROM ${table.physical} t
         WHERE _v_max IS NULL AND (${pendingWhere(q.columns)}) AND _v_min <> ALL($2::int[]) AND _v_min > $3
           AND _v_min NOT IN (SELECT version FROM ${ident(schema)}.versions WHERE table_id = $4 AND created_at > now() - $5 * interval '1 millisecond')
           AND NOT EXISTS (SELECT 1 FROM unnest($6::bigint[], $7::bigint[]) AS c(lo, hi) WHERE t._rowid BETWEEN c.lo AND c.hi)) r
      GROUP BY b ORDER BY lo`,
    [q.size, q.excludeVersions, q.afterVersion ?? -1, table.id, q.graceMs ?? 0, covered.map((c) => c.lo), covered.map((c) => c.hi)],
  );
  return rows.map((r) => ({ lo: r.lo, hi: r.hi }));
}

/** Overlapping or touching ranges as one (a batch's chained stage jobs all cover the same range). */
export function mergeRanges(ranges: RowSelector[]): RowSelector[] {
  const sorted = [...ranges].sort((a, b) => a.lo - b.lo);
  const out: RowSelector[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1) last.hi = Math.max(last.hi, r.hi);
    else out.push({ lo: r.lo, hi: r.hi });
  }
  return out;
}

/** For each range, whether a live row in it still has a pending cell of `columns` (is a failed job's work still undone?). */
export async function pendingIn(db: pg.Pool, table: CatalogTable, columns: string[], ranges: RowSelector[]): Promise<boolean[]> {
  if (!ranges.length) return [];
  const { rows } = await db.query(
    `SELECT c.i FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS c(lo, hi, i)
      WHERE EXISTS (SELECT 1 FROM ${table.physical} t WHERE t._rowid BETWEEN c.lo AND c.hi AND t._v_max IS NULL AND (${pendingWhere(columns)}))`,
    [ranges.map((r) => r.lo), ranges.map((r) => r.hi)],
  );
  const open = new Set(rows.map((r) => Number(r.i) - 1));
  return ranges.map((_, i) => open.has(i));
}

/**
 * A version's finalize shipped it (its exports have its rows, or hold them back until complete);
 * `nothingLeft`: no cell of its rows was left pending when its work was enqueued.
 */
export async function markShipped(db: pg.Pool, schema: string, tableId: number, version: number, nothingLeft = false): Promise<void> {
  await db.query(
    `UPDATE ${ident(schema)}.versions SET shipped_at = now(), nothing_left = nothing_left OR $3 WHERE table_id = $1 AND version = $2 AND shipped_at IS NULL`,
    [tableId, version, nothingLeft],
  );
}

/**
 * Versions committed more than `olderThanMs` ago that no finalize has shipped (aborted ones aside):
 * their finalize job is waiting for its batches, or was lost (Redis lost it; it gave up on a target
 * that stayed down). A partial index keeps this cheap when every version is shipped.
 */
export async function unshippedVersions(db: pg.Pool, schema: string, tableId: number, olderThanMs: number): Promise<number[]> {
  const { rows } = await db.query(
    `SELECT version FROM ${ident(schema)}.versions WHERE table_id = $1 AND shipped_at IS NULL AND aborted IS NULL
        AND created_at < now() - $2 * interval '1 millisecond' ORDER BY version`,
    [tableId, olderThanMs],
  );
  return rows.map((r) => r.version);
}
