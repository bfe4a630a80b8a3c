import type pg from 'pg';
import { TesseraError } from '@tessera/core';
import { ident, statusCol, CELL_ERROR } from './sql';
import { viewsOf, type CatalogTable } from './catalog';
import { removeDerived, restoreDerived, derivedKey } from './derived';
import { requestsByVersion } from './requests';

export type VersionKind = 'create_table' | 'insert' | 'update' | 'upsert' | 'delete' | 'add_column' | 'drop_column' | 'recompute' | 'revert';

/** Start a new table version. Locks the table's catalog row, so writers to one table serialise here. */
export async function bumpVersion(c: pg.PoolClient, schema: string, tableId: number, kind: VersionKind, detail: string): Promise<number> {
  const s = ident(schema);
  const { rows } = await c.query(`UPDATE ${s}.tables SET version = version + 1 WHERE id = $1 RETURNING version`, [tableId]);
  const version = rows[0].version as number;
  await c.query(`INSERT INTO ${s}.versions (table_id, version, kind, detail) VALUES ($1, $2, $3, $4)`, [tableId, version, kind, detail]);
  return version;
}

/**
 * The version a repeatable piece of work writes under: found by its request id, or started. Work
 * that commits in several transactions (an iterate job, row by row) or runs twice (a retried job)
 * so lands in one version, never two.
 */
export async function versionFor(c: pg.PoolClient, schema: string, tableId: number, requestId: string, kind: VersionKind, detail: string): Promise<number> {
  const s = ident(schema);
  const find = () => c.query(`SELECT version FROM ${s}.versions WHERE table_id = $1 AND request_id = $2`, [tableId, requestId]);
  // found without a lock (the common case: later rows of the same job); the table lock only to make one
  const found = (await find()).rows[0];
  if (found) return found.version;
  await c.query(`SELECT 1 FROM ${s}.tables WHERE id = $1 FOR UPDATE`, [tableId]);
  const { rows } = await find();
  if (rows[0]) return rows[0].version;
  const version = await bumpVersion(c, schema, tableId, kind, detail);
  await c.query(`UPDATE ${s}.versions SET request_id = $3 WHERE table_id = $1 AND version = $2`, [tableId, version, requestId]);
  return version;
}

/** Add to a version's counts (work that commits in steps). */
export async function addVersionCounts(
  c: pg.PoolClient,
  schema: string,
  tableId: number,
  version: number,
  counts: { inserts?: number; updates?: number; deletes?: number },
) {
  await c.query(
    `UPDATE ${ident(schema)}.versions SET inserts = inserts + $3, updates = updates + $4, deletes = deletes + $5 WHERE table_id = $1 AND version = $2`,
    [tableId, version, counts.inserts ?? 0, counts.updates ?? 0, counts.deletes ?? 0],
  );
}

export interface VersionInfo {
  version: number;
  kind: VersionKind;
  detail: string | null;
  inserts: number;
  updates: number;
  deletes: number;
  errors: number;
  aborted: string | null;
  createdAt: Date;
  /** write requests (producer calls) the version holds, and the ids of the first few */
  requests: number;
  requestIds: string[];
}

/**
 * The version history. Error counts are read from the error cells themselves (the cells of rows a
 * version wrote, or of the columns it added), so they are exact however often jobs were retried.
 */
export async function listVersions(db: pg.Pool, schema: string, table: CatalogTable): Promise<VersionInfo[]> {
  const s = ident(schema);
  const computed = table.columns.filter((c) => c.computed);
  const errorExpr = computed.length ? computed.map((c) => `count(*) FILTER (WHERE ${ident(statusCol(c.name))} = ${CELL_ERROR})`).join(' + ') : '0';
  const { rows } = await db.query(
    `SELECT v.*, coalesce(e.errors, 0) AS errors
       FROM ${s}.versions v
       LEFT JOIN (SELECT _v_min AS version, ${errorExpr} AS errors FROM ${table.physical} GROUP BY _v_min) e ON e.version = v.version
      WHERE v.table_id = $1 ORDER BY v.version`,
    [table.id],
  );
  const requests = await requestsByVersion(db, schema, table.id);
  return rows.map((r) => ({
    version: r.version,
    kind: r.kind,
    detail: r.detail,
    inserts: r.inserts,
    updates: r.updates,
    deletes: r.deletes,
    errors: Number(r.errors),
    aborted: r.aborted,
    createdAt: r.created_at,
    requests: requests.get(r.version)?.count ?? (r.request_id ? 1 : 0),
    requestIds: requests.get(r.version)?.first ?? (r.request_id ? [r.request_id] : []),
  }));
}

export async function setVersionCounts(
  c: pg.PoolClient,
  schema: string,
  tableId: number,
  version: number,
  counts: { inserts?: number; updates?: number; deletes?: number },
) {
  await c.query(`UPDATE ${ident(schema)}.versions SET inserts = $3, updates = $4, deletes = $5 WHERE table_id = $1 AND version = $2`, [
    tableId,
    version,
    counts.inserts ?? 0,
    counts.updates ?? 0,
    counts.deletes ?? 0,
  ]);
}

/**
 * Undo the latest data version (insert, update or delete): rows it wrote disappear and rows it
 * retired come back, so the table reads exactly as it did before. Schema versions are not
 * revertible here because dropping or re-adding a column loses or invents data.
 */
export async function revertLatest(c: pg.PoolClient, schema: string, table: CatalogTable, all: CatalogTable[]): Promise<number> {
  const s = ident(schema);
  const { rows } = await c.query(`SELECT version, kind, updates FROM ${s}.versions WHERE table_id = $1 ORDER BY version DESC LIMIT 1 FOR UPDATE`, [table.id]);
  const latest = rows[0];
  if (!latest) throw new TesseraError('E_REVERT', `table ${table.name} has no versions`);
  if (!['insert', 'update', 'upsert', 'delete'].includes(latest.kind)) {
    throw new TesseraError(
      'E_REVERT',
      `table ${table.name}: the latest version (${latest.version}, ${latest.kind}) is not an insert, update or delete; only those can be reverted`,
    );
  }
  const v = latest.version as number;
  if (viewsOf(all, table).length) {
    // views follow: an insert's view rows go, a delete's come back; an update's re-derived rows cannot be told apart
    if (latest.kind === 'update' || (latest.kind === 'upsert' && latest.updates > 0)) {
      throw new TesseraError(
        'E_REVERT',
        `table ${table.name}: the latest version (${v}) is an update, and views (${viewsOf(all, table)
          .map((t) => t.name)
          .join(', ')}) were derived from the updated rows; update the rows back instead`,
      );
    }
    if (latest.kind === 'insert' || latest.kind === 'upsert') {
      const { rows: added } = await c.query(`SELECT _rowid FROM ${table.physical} WHERE _v_min = $1`, [v]);
      await removeDerived(
        c,
        all,
        table,
        added.map((r) => r._rowid),
      );
    } else await restoreDerived(c, all, table, derivedKey(table, v));
  }
  await c.query(`DELETE FROM ${table.physical} WHERE _v_min = $1`, [v]);
  await c.query(`UPDATE ${table.physical} SET _v_max = NULL WHERE _v_max = $1`, [v]);
  await c.query(`DELETE FROM ${s}.versions WHERE table_id = $1 AND version = $2`, [table.id, v]);
  // its requests are undone too: sent again, they apply again
  await c.query(`DELETE FROM ${s}.requests WHERE table_id = $1 AND version = $2`, [table.id, v]);
  await c.query(`UPDATE ${s}.tables SET version = version - 1 WHERE id = $1`, [table.id]);
  return v;
}
