import type { ExportDef, ExportSchema, ExportRow } from '@tessera/core';
import { ident, type Store, type CatalogTable } from '@tessera/store';
import type { FinalizeJob } from '../jobs/payloads';
import type { PipelineRegistry } from '../registry';

const CHUNK = 2000;

export interface FinalizeResult {
  version: number;
  exports: Array<{ sink: string; upserted: number; deleted: number }>;
}

/**
 * Runs once every batch of a version is done: ships what the version changed to each export of the
 * table. Inserts and updates upsert the row versions this version wrote; deletes remove the keys it
 * retired; schema changes, recomputes and `--full` re-ship every live row. Sinks upsert by key, so
 * running this twice (a retry, a reconcile) ships the same rows again and changes nothing.
 */
export async function runFinalize(job: FinalizeJob, deps: { store: Store; registry: PipelineRegistry }): Promise<FinalizeResult> {
  const result: FinalizeResult = { version: job.version, exports: [] };
  if (!deps.registry.has(job.pipeline)) return result;
  const exports = deps.registry.get(job.pipeline).exports.filter((e) => e.source === job.table);
  if (!exports.length) return result;
  const table = await deps.store.table(job.pipeline, job.table);
  const kind = job.full ? 'full' : await versionKind(deps.store, table, job.version);
  // every export gets its rows even when another one's target is down; the retry ships to all again (idempotent)
  const failures: Error[] = [];
  for (const ex of exports) {
    try {
      result.exports.push(await shipExport(deps.store, table, ex, job.version, kind));
    } catch (err) {
      failures.push(err as Error);
    }
  }
  if (failures.length) throw failures.find((f) => f.name !== 'TransientError') ?? failures[0];
  return result;
}

async function shipExport(store: Store, table: CatalogTable, ex: ExportDef, version: number, kind: string): Promise<FinalizeResult['exports'][number]> {
  const schema = exportSchema(table, ex);
  await ex.sink.prepare(schema);
  let upserted = 0;
  let deleted = 0;
  if (kind !== 'delete') {
    const where = kind === 'insert' || kind === 'update' ? `_v_min = ${version} AND _v_max IS NULL` : '_v_max IS NULL';
    for await (const rows of scan(store, table, schema.columns.map((c) => c.name), where)) {
      await ex.sink.upsert(schema, rows, { version });
      upserted += rows.length;
    }
  }
  if ((kind === 'delete' || kind === 'full') && ex.propagateDeletes) {
    // keys retired by this version (for --full: every key that is no longer live) and not written again
    const where =
      kind === 'delete'
        ? `_v_max = ${version} AND NOT EXISTS (SELECT 1 FROM ${table.physical} n WHERE n._rowid = t._rowid AND n._v_max IS NULL)`
        : `_v_max IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${table.physical} n WHERE n._rowid = t._rowid AND n._v_max IS NULL)`;
    for await (const keys of scan(store, table, ex.key, where)) {
      await ex.sink.delete(schema, keys, { version });
      deleted += keys.length;
    }
  }
  return { sink: ex.sink.name, upserted, deleted };
}

function exportSchema(table: CatalogTable, ex: ExportDef): ExportSchema {
  return {
    source: table.name,
    key: ex.key,
    columns: ex.columns.map((name) => ({ name, type: table.columns.find((c) => c.name === name)!.type })),
  };
}

async function versionKind(store: Store, table: CatalogTable, version: number): Promise<string> {
  const { rows } = await store.pool.query(`SELECT kind FROM ${ident(store.schema)}.versions WHERE table_id = $1 AND version = $2`, [table.id, version]);
  return rows[0]?.kind ?? 'full';
}

/** Rows in rowid order, a chunk at a time (keyset pagination, so a large table never sits in memory). */
async function* scan(store: Store, table: CatalogTable, columns: string[], where: string): AsyncGenerator<ExportRow[]> {
  let after = -1;
  const select = [...new Set(columns)].map((c) => `t.${ident(c)}`).join(', ');
  for (;;) {
    const { rows } = await store.pool.query(
      `SELECT DISTINCT ON (t._rowid) t._rowid AS "__rowid", ${select} FROM ${table.physical} t WHERE ${where} AND t._rowid > $1 ORDER BY t._rowid, t._v_min DESC LIMIT ${CHUNK}`,
      [after],
    );
    if (!rows.length) return;
    after = rows[rows.length - 1].__rowid;
    yield rows.map(({ __rowid: _, ...r }) => r);
  }
}
