import type { ExportDef, ExportSchema } from '@tessera/core';
import { visibleColumn, type Store, type CatalogTable, type LiveScope, type VersionChange } from '@tessera/store';

export interface Shipped {
  upserted: number;
  deleted: number;
  /** live rows left out: an exported cell of theirs is still pending */
  held: number;
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
    // a key a later version wrote again (a delete then a re-insert) is live: the store leaves it out
    for await (const gone of store.exports.retiredKeys(table, ex.key, version)) {
      await ex.sink.delete(schema, gone, { version: seq });
      out.deleted += gone.length;
    }
  }
  if (v.kind !== 'delete') {
    const writtenBy = ['insert', 'update', 'upsert'].includes(v.kind) ? version : undefined;
    await upsertComplete(store, table, ex, schema, writtenBy === undefined ? {} : { writtenBy }, seq, out);
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
    for await (const keys of store.exports.retiredKeys(table, ex.key)) {
      await ex.sink.delete(schema, keys, { version: seq });
      out.deleted += keys.length;
    }
  }
  await upsertComplete(store, table, ex, schema, {}, seq, out);
  if (ex.propagateDeletes && ex.sink.retain) {
    // every live key, held rows' too: the target keeps their last shipped values until they are complete
    out.deleted += (await ex.sink.retain(schema, store.exports.liveKeys(table, ex.key), { version: seq })) ?? 0;
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
  await upsertComplete(store, table, ex, schema, { ranges }, seq, out);
  return out;
}

/** Upsert the live rows in `scope` whose exported cells are all computed; count the others as held. */
async function upsertComplete(
  store: Store,
  table: CatalogTable,
  ex: ExportDef,
  schema: ExportSchema,
  scope: LiveScope,
  seq: number,
  out: Shipped,
): Promise<void> {
  const columns = schema.columns.map((c) => c.name);
  for await (const rows of store.exports.rows(table, columns, ex.columns, scope)) {
    await ex.sink.upsert(schema, rows, { version: seq });
    out.upserted += rows.length;
  }
  out.held += await store.exports.held(table, ex.columns, scope);
}

export function exportSchema(table: CatalogTable, ex: ExportDef): ExportSchema {
  return {
    source: table.name,
    key: ex.key,
    columns: ex.columns.map((name) => ({ name, type: visibleColumn(table, name)!.type })),
  };
}
