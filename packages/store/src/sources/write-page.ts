import type pg from 'pg';
import { TesseraError } from '@tessera/core';
import type { CatalogTable } from '../catalog';
import { loadTables } from '../catalog';
import { upsertRows, deleteRows, validateRows, type Row } from '../rows';
import { reviseDerived, retireDerived, derivedKey, type DerivedVersion } from '../derived';
import { ident, pgType } from '../sql';

export interface PageVersion {
  version: number;
  kind: 'upsert' | 'delete';
  /** view work the version made (updates and deletes of rows that views iterate) */
  derived: DerivedVersion[];
}

export interface PageWrite {
  versions: PageVersion[];
  inserted: number;
  updated: number;
  deleted: number;
  /** rows that do not fit the table: skipped, each named with its problem */
  rejected: string[];
}

const keyColumns = (t: CatalogTable) => t.columns.filter((c) => c.type.primaryKey);
const keyOf = (t: CatalogTable, row: Row) => JSON.stringify(keyColumns(t).map((k) => row[k.name]));

/**
 * Write a page of a source into `table` inside the caller's transaction: rows upserted by primary
 * key (new keys inserted, live keys updated; the last of a key in the page wins), then deletes of
 * the keys given. A row that does not fit the table is skipped and named in `rejected`, so one bad row never
 * holds back its page nor the watermark. The upsert and the delete are a version each.
 */
export async function writeSourcePage(
  c: pg.PoolClient,
  schema: string,
  table: CatalogTable,
  upserts: Row[],
  deletes: Row[],
  describe: (i: number) => string,
): Promise<PageWrite> {
  const out: PageWrite = { versions: [], inserted: 0, updated: 0, deleted: 0, rejected: [] };
  const byKey = new Map<string, Row>();
  upserts.forEach((row, i) => {
    try {
      const [valid] = validateRows(table, [row]);
      byKey.set(keyOf(table, valid!), valid!);
    } catch (e) {
      out.rejected.push(`${describe(i)}: ${(e as Error).message.replace(/ row 1:/, ':')}`);
    }
  });
  const rows = [...byKey.values()];
  const all = rows.length || deletes.length ? await loadTables(c, schema, table.pipeline) : [];
  if (rows.length) {
    // the store's upsert: new keys inserted, live ones updated, one version
    const r = await upsertRows(c, schema, table, rows);
    const derived = await reviseDerived(
      c,
      all,
      table,
      r.rowids,
      [...r.changed, ...r.reset],
      derivedKey(table, r.version),
      `upsert of ${table.name} v${r.version}`,
    );
    out.versions.push({ version: r.version, kind: 'upsert', derived });
    out.inserted = r.inserted;
    out.updated = r.updated;
  }
  const gone = deletes.length ? await liveKeys(c, table, deletes) : new Set<string>();
  const doomed = deletes.filter((d) => gone.has(keyOf(table, d)));
  if (doomed.length) {
    const r = await deleteRows(c, schema, table, doomed);
    const derived = await retireDerived(c, all, table, r.rowids, derivedKey(table, r.version), `delete from ${table.name} v${r.version}`);
    out.versions.push({ version: r.version, kind: 'delete', derived });
    out.deleted = r.count;
  }
  return out;
}

/** The keys among `rows` that have a live row in the table. */
async function liveKeys(c: pg.PoolClient, table: CatalogTable, rows: Row[]): Promise<Set<string>> {
  const keys = keyColumns(table);
  if (!keys.length) throw new TesseraError('E_BAD_ROW', `${table.name}: sources write by primary key, and it has none`);
  if (!rows.length) return new Set();
  const { rows: found } = await c.query(
    `SELECT ${keys.map((k) => `t.${ident(k.name)}`).join(', ')} FROM ${table.physical} t
       JOIN jsonb_to_recordset($1::jsonb) AS u(${keys.map((k) => `${ident(k.name)} ${pgType(k.type)}`).join(', ')})
         ON ${keys.map((k) => `t.${ident(k.name)} = u.${ident(k.name)}`).join(' AND ')}
      WHERE t._v_max IS NULL`,
    [JSON.stringify(rows.map((r) => Object.fromEntries(keys.map((k) => [k.name, r[k.name]]))))],
  );
  return new Set(found.map((r) => keyOf(table, r)));
}
