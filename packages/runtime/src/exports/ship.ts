import type { ExportDef, ExportSchema, ExportRow } from '@tessera/core';
import { ident, relationOf, type Store, type CatalogTable, type BaseRows } from '@tessera/store';

const CHUNK = 2000;

export interface Shipped {
  upserted: number;
  deleted: number;
  /** live rows left out: an exported cell of theirs is still pending */
  held: number;
}

export interface VersionChange {
  kind: string;
  deletes: number;
}

/** What a version did (null when its record is gone: a reverted version). */
export async function versionInfo(store: Store, table: CatalogTable, version: number): Promise<VersionChange | undefined> {
  const { rows } = await store.pool.query(`SELECT kind, deletes FROM ${ident(store.schema)}.versions WHERE table_id = $1 AND version = $2`, [
    table.id,
    version,
  ]);
  return rows[0] ? { kind: rows[0].kind, deletes: rows[0].deletes } : undefined;
}

/**
 * Ship what one version changed: the keys it retired that no later version brought back, then the
 * live rows it wrote (every live row for schema changes and recomputes), complete ones only.
 */
export async function shipChanges(store: Store, table: CatalogTable, ex: ExportDef, version: number, v: VersionChange, seq: number): Promise<Shipped> {
  const schema = exportSchema(table, ex);
  await ex.sink.prepare(schema);
  const out: Shipped = { upserted: 0, deleted: 0, held: 0 };
  if ((v.kind === 'delete' || v.deletes > 0) && ex.propagateDeletes) {
    const where = `t0._v_max = ${Number(version)} AND NOT EXISTS (SELECT 1 FROM ${table.physical} n WHERE n._rowid = t0._rowid AND n._v_max IS NULL)`;
    for await (const keys of scan(store, table, ex.key, where, { mode: 'latest' })) {
      // a key a later version wrote again (a delete then a re-insert) is live: never delete it
      const gone = await notLiveSince(store, table, ex.key, keys, version);
      await ex.sink.delete(schema, gone, { version: seq });
      out.deleted += gone.length;
    }
  }
  if (v.kind !== 'delete') {
    const where = ['insert', 'update', 'upsert'].includes(v.kind) ? `t0._v_min = ${Number(version)} AND t0._v_max IS NULL` : 't0._v_max IS NULL';
    await upsertComplete(store, table, ex, schema, where, seq, out);
  }
  return out;
}

/**
 * Ship every live row (complete ones; held ones keep what the target has), then make the target
 * hold no other key: `retain` where the sink has it, else deletes of every key the record retired.
 */
export async function shipFull(store: Store, table: CatalogTable, ex: ExportDef, seq: number): Promise<Shipped> {
  const schema = exportSchema(table, ex);
  await ex.sink.prepare(schema);
  const out: Shipped = { upserted: 0, deleted: 0, held: 0 };
  if (ex.propagateDeletes && !ex.sink.retain) {
    // deletes first: a key deleted and inserted again is upserted after
    const where = `t0._v_max IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${table.physical} n WHERE n._rowid = t0._rowid AND n._v_max IS NULL)`;
    for await (const keys of scan(store, table, ex.key, where, { mode: 'latest' })) {
      await ex.sink.delete(schema, keys, { version: seq });
      out.deleted += keys.length;
    }
  }
  await upsertComplete(store, table, ex, schema, 't0._v_max IS NULL', seq, out);
  if (ex.propagateDeletes && ex.sink.retain) {
    // every live key, held rows' too: the target keeps their last shipped values until they are complete
    out.deleted += (await ex.sink.retain(schema, scan(store, table, ex.key, 't0._v_max IS NULL', { mode: 'live' }), { version: seq })) ?? 0;
  }
  return out;
}

/**
 * Ship the live rows in these rowid ranges, complete ones (a reconcile computed their pending
 * cells: the rows earlier ships held back), without re-shipping the rest of the table.
 */
export async function shipRows(store: Store, table: CatalogTable, ex: ExportDef, ranges: Array<{ lo: number; hi: number }>, seq: number): Promise<Shipped> {
  const schema = exportSchema(table, ex);
  await ex.sink.prepare(schema);
  const out: Shipped = { upserted: 0, deleted: 0, held: 0 };
  if (!ranges.length) return out;
  const within = ranges.map((r) => `t0._rowid BETWEEN ${Number(r.lo)} AND ${Number(r.hi)}`).join(' OR ');
  await upsertComplete(store, table, ex, schema, `t0._v_max IS NULL AND (${within})`, seq, out);
  return out;
}

async function upsertComplete(store: Store, table: CatalogTable, ex: ExportDef, schema: ExportSchema, where: string, seq: number, out: Shipped): Promise<void> {
  const done = completeCondition(table, ex);
  for await (const rows of scan(
    store,
    table,
    schema.columns.map((c) => c.name),
    `${where} AND ${done}`,
    { mode: 'live' },
  )) {
    await ex.sink.upsert(schema, rows, { version: seq });
    out.upserted += rows.length;
  }
  if (done !== 'true') {
    const rel = relationOf(table, { mode: 'live' });
    const { rows } = await store.pool.query(`SELECT count(*)::int AS n FROM ${rel.from} WHERE ${where} AND NOT (${done})`);
    out.held += rows[0].n;
  }
}

/** SQL that is true when every exported computed cell of the row has a value or an error (none pending). */
function completeCondition(table: CatalogTable, ex: ExportDef): string {
  const rel = relationOf(table, { mode: 'live' });
  const computed = ex.columns.filter((c) => rel.column(c)?.computed);
  return computed.length ? computed.map((c) => `${rel.status(c)} IS NOT NULL`).join(' AND ') : 'true';
}

/** The keys among `keys` that no live row written after `version` holds. */
async function notLiveSince(store: Store, table: CatalogTable, key: string[], keys: ExportRow[], version: number): Promise<ExportRow[]> {
  if (!keys.length) return keys;
  const rel = relationOf(table, { mode: 'live' });
  const tuple = `jsonb_build_array(${key.map((k) => rel.col(k)).join(', ')})`;
  const asJson = (r: ExportRow) => JSON.stringify(key.map((k) => r[k]));
  const { rows } = await store.pool.query(
    `SELECT u.i::int AS i FROM unnest($1::jsonb[]) WITH ORDINALITY AS u(k, i)
      WHERE NOT EXISTS (SELECT 1 FROM ${rel.from} WHERE t0._v_max IS NULL AND t0._v_min > ${Number(version)} AND ${tuple} = u.k)`,
    [keys.map(asJson)],
  );
  return rows.map((r) => keys[r.i - 1]!);
}

export function exportSchema(table: CatalogTable, ex: ExportDef): ExportSchema {
  const rel = relationOf(table);
  return {
    source: table.name,
    key: ex.key,
    columns: ex.columns.map((name) => ({ name, type: rel.column(name)!.type })),
  };
}

/** Rows in rowid order, a chunk at a time (keyset pagination, so a large table never sits in memory); a view's with its inherited columns. */
async function* scan(store: Store, table: CatalogTable, columns: string[], where: string, baseRows: BaseRows): AsyncGenerator<ExportRow[]> {
  const rel = relationOf(table, baseRows);
  let after = -1;
  const select = [...new Set(columns)].map((c) => `${rel.col(c)} AS ${ident(c)}`).join(', ');
  for (;;) {
    const { rows } = await store.pool.query(
      `SELECT DISTINCT ON (t0._rowid) t0._rowid AS "__rowid", ${select} FROM ${rel.from} WHERE ${where} AND t0._rowid > $1 ORDER BY t0._rowid, t0._v_min DESC LIMIT ${CHUNK}`,
      [after],
    );
    if (!rows.length) return;
    after = rows[rows.length - 1].__rowid;
    yield rows.map(({ __rowid: _, ...r }) => r);
  }
}
