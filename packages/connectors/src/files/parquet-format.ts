import type { SchemaElement } from 'hyparquet';
import { isMediaKind, type ExportRow } from '@tessera/core';
import { toDate, toNumberArray, type FileColumn, type FileFormat } from './file-format';
import { parquetWriter } from '../sdk/modules';

type Leaf = { elements: SchemaElement[]; value: (v: unknown) => unknown };

/** Parquet types per column; lists carry the LIST annotation so null and [] stay different. */
function leaf(c: FileColumn): Leaf {
  const rep = c.type.nullable || !c.type.primaryKey ? 'OPTIONAL' : 'REQUIRED';
  const scalar = (el: Omit<SchemaElement, 'name'>, value: (v: unknown) => unknown): Leaf => ({
    elements: [{ name: c.name, repetition_type: rep, ...el } as SchemaElement],
    value: (v) => (v === null || v === undefined ? null : value(v)),
  });
  if (isMediaKind(c.type.kind) || c.type.kind === 'string') return scalar({ type: 'BYTE_ARRAY', converted_type: 'UTF8' }, String);
  switch (c.type.kind) {
    case 'int':
      return scalar({ type: 'INT64' }, (v) => BigInt(v as number));
    case 'float':
      return scalar({ type: 'DOUBLE' }, Number);
    case 'bool':
      return scalar({ type: 'BOOLEAN' }, Boolean);
    case 'timestamp':
      return scalar({ type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' } }, (v) => toDate(v));
    case 'json':
      // JSON as annotated strings: any shape fits, and DuckDB/pyarrow read it as JSON
      return scalar({ type: 'BYTE_ARRAY', converted_type: 'JSON' }, (v) => v);
    case 'array': {
      const el = c.type.element ?? 'float';
      const type = el === 'float' ? 'FLOAT' : el === 'int' ? 'INT64' : el === 'bool' ? 'BOOLEAN' : 'BYTE_ARRAY';
      const conv: (x: unknown) => unknown = el === 'int' ? (x) => BigInt(x as number) : el === 'string' ? String : el === 'bool' ? Boolean : Number;
      return {
        elements: [
          { name: c.name, repetition_type: rep, converted_type: 'LIST', num_children: 1 },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          { name: 'element', type, repetition_type: 'REQUIRED', ...(el === 'string' ? { converted_type: 'UTF8' } : {}) } as SchemaElement,
        ],
        value: (v) => (v === null || v === undefined ? null : el === 'float' ? toNumberArray(v) : Array.from(v as ArrayLike<unknown>, conv)),
      };
    }
    default:
      throw new TypeError(`no Parquet mapping for column ${c.name}`);
  }
}

/** Parquet via hyparquet-writer (pure JS, Snappy): embeddings as list<float32>. */
export const parquetFormat: FileFormat = {
  name: 'parquet',
  extension: 'parquet',
  contentType: 'application/vnd.apache.parquet',
  async encode(columns: FileColumn[], rows: ExportRow[]): Promise<Buffer> {
    const { parquetWriteBuffer } = await parquetWriter();
    const leaves = columns.map(leaf);
    const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }, ...leaves.flatMap((l) => l.elements)];
    const columnData = columns.map((c, i) => ({ name: c.name, data: rows.map((r) => leaves[i]!.value(r[c.name])) }));
    return Buffer.from(parquetWriteBuffer({ columnData, schema, rowGroupSize: 100_000 }));
  },
};
