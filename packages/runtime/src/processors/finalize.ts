import type { ExportDef, ExportSchema, ExportRow } from '@tessera/core';
import { ident, relationOf, type Store, type CatalogTable, type BaseRows } from '@tessera/store';
import type { DerivedWork, FinalizeJob } from '../jobs/payloads';
import type { PipelineRegistry } from '../registry';

const CHUNK = 2000;

export interface FinalizeResult {
  version: number;
  exports: Array<{ sink: string; upserted: number; deleted: number; ms?: number }>;
  /** view versions started after this one */
  derived?: number;
}

export interface FinalizeDeps {
  store: Store;
  registry: PipelineRegistry;
  /** start view work this version made (runs after its exports) */
  enqueueDerived?: (pipeline: string, derived: DerivedWork[]) => Promise<void>;
}

/**
 * Runs once every batch of a version is done: ships what the version changed to each export of the
 * table, then starts the view work the version made. Keys the version retired are deleted first
 * (a re-iterated base row's old view rows, deleted rows), then the row versions it wrote are
 * upserted; schema changes, recomputes and `--full` re-ship every live row. Sinks upsert by key,
 * so running this twice (a retry, a reconcile) ships the same rows again and changes nothing.
 */
export async function runFinalize(job: FinalizeJob, deps: FinalizeDeps): Promise<FinalizeResult> {
  const result: FinalizeResult = { version: job.version, exports: [] };
  // every export gets its rows even when another one's target is down; the retry ships to all again (idempotent)
  const failures: Error[] = [];
  if (deps.registry.has(job.pipeline)) {
    const exports = deps.registry.get(job.pipeline).exports.filter((e) => e.source === job.table && (!job.sinks || job.sinks.includes(e.sink.name)));
    if (exports.length) {
      const table = await deps.store.table(job.pipeline, job.table);
      const v = job.full ? { kind: 'full', deletes: 0 } : await versionInfo(deps.store, table, job.version);
      for (const ex of exports) {
        try {
          const started = Date.now();
          result.exports.push({ ...(await shipExport(deps.store, table, ex, job.version, v)), ms: Date.now() - started });
        } catch (err) {
          failures.push(err as Error);
        }
      }
    }
  }
  // view work does not wait for an export target to come back
  if (job.derived?.length && deps.enqueueDerived) {
    await deps.enqueueDerived(job.pipeline, job.derived);
    result.derived = job.derived.length;
  }
  if (failures.length) throw failures.find((f) => f.name !== 'TransientError') ?? failures[0];
  return result;
}

async function shipExport(store: Store, table: CatalogTable, ex: ExportDef, version: number, v: { kind: string; deletes: number }): Promise<FinalizeResult['exports'][number]> {
  const schema = exportSchema(table, ex);
  await ex.sink.prepare(schema);
  let upserted = 0;
  let deleted = 0;
  const retires = v.kind === 'delete' || v.kind === 'full' || v.deletes > 0;
  if (retires && ex.propagateDeletes) {
    // keys retired by this version (for --full: every key that is no longer live) and not written again under the same rowid
    const retired = v.kind === 'full' ? 't0._v_max IS NOT NULL' : `t0._v_max = ${version}`;
    const where = `${retired} AND NOT EXISTS (SELECT 1 FROM ${table.physical} n WHERE n._rowid = t0._rowid AND n._v_max IS NULL)`;
    for await (const keys of scan(store, table, ex.key, where, { mode: 'latest' })) {
      await ex.sink.delete(schema, keys, { version });
      deleted += keys.length;
    }
  }
  if (v.kind !== 'delete') {
    const where = v.kind === 'insert' || v.kind === 'update' || v.kind === 'upsert' ? `t0._v_min = ${version} AND t0._v_max IS NULL` : 't0._v_max IS NULL';
    for await (const rows of scan(store, table, schema.columns.map((c) => c.name), where, { mode: 'live' })) {
      await ex.sink.upsert(schema, rows, { version });
      upserted += rows.length;
    }
  }
  return { sink: ex.sink.name, upserted, deleted };
}

function exportSchema(table: CatalogTable, ex: ExportDef): ExportSchema {
  const rel = relationOf(table);
  return {
    source: table.name,
    key: ex.key,
    columns: ex.columns.map((name) => ({ name, type: rel.column(name)!.type })),
  };
}

async function versionInfo(store: Store, table: CatalogTable, version: number): Promise<{ kind: string; deletes: number }> {
  const { rows } = await store.pool.query(`SELECT kind, deletes FROM ${ident(store.schema)}.versions WHERE table_id = $1 AND version = $2`, [table.id, version]);
  return rows[0] ? { kind: rows[0].kind, deletes: rows[0].deletes } : { kind: 'full', deletes: 0 };
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
