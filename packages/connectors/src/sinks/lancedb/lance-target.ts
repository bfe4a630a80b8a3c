import type { Connection, Table } from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { ConfigError, type ExportSchema } from '@tessera/core';
import { arrowColumn, type Arrow, type ArrowColumn } from '../../arrow/arrow-columns';
import { checkIdentifier } from '../../sql/identifiers';
import { ExportSchemaMismatch } from '../schema-mismatch';
import { checkKeyType } from './lance-filter';

export interface LancePlan {
  table: Table;
  /** the Arrow schema of the rows we write (the exported columns, keys not null) */
  schema: Schema;
  columns: Array<ArrowColumn & { name: string }>;
}

export interface LanceTargetOptions {
  table: string;
  /** sink name, for messages */
  name: string;
  /** location + table, for messages */
  target: string;
  create?: boolean;
}

/**
 * The target dataset: created with the exported columns when asked (embeddings as
 * fixed_size_list<float32>[dim], so LanceDB can index and search them), else checked to fit: every
 * exported column there with the same Arrow type, and no non-nullable column we do not fill.
 */
export async function describeLanceTarget(arrow: Arrow, db: Connection, schema: ExportSchema, opts: LanceTargetOptions): Promise<LancePlan> {
  if (schema.key.length === 0) throw new ConfigError(`export to ${opts.name}: a key is needed for upserts`);
  const columns = schema.columns.map((c) => {
    checkIdentifier('column', c.name);
    if (schema.key.includes(c.name)) checkKeyType(opts.name, c.name, c.type);
    return { name: c.name, ...arrowColumn(arrow, c.name, c.type, { fixedSizeVectors: true }) };
  });
  const fields = columns.map((c) => new arrow.Field(c.name, c.type, !schema.key.includes(c.name)));
  const wanted = new arrow.Schema(fields);
  const exists = (await db.tableNames()).includes(opts.table);
  if (!exists) {
    if (!opts.create) throw new ExportSchemaMismatch(opts.target, `table ${opts.table} does not exist (set create: true to create it)`);
    // existOk: another worker may create it at the same moment
    const table = await db.createEmptyTable(opts.table, wanted, { existOk: true });
    return { table, schema: wanted, columns };
  }
  const table = await db.openTable(opts.table);
  const found = await table.schema();
  const byName = new Map(found.fields.map((f) => [f.name, f]));
  for (const c of columns) {
    const f = byName.get(c.name);
    if (!f) throw new ExportSchemaMismatch(opts.target, `column ${c.name} is missing`, { column: c.name });
    if (String(f.type) !== String(c.type)) {
      throw new ExportSchemaMismatch(opts.target, `column ${c.name} is ${String(f.type)}, expected ${String(c.type)}`, {
        column: c.name,
        found: String(f.type),
        expected: String(c.type),
      });
    }
  }
  for (const f of found.fields) {
    if (!f.nullable && !columns.some((c) => c.name === f.name)) {
      throw new ExportSchemaMismatch(opts.target, `column ${f.name} is not nullable and is not exported`, { column: f.name });
    }
  }
  return { table, schema: wanted, columns };
}
