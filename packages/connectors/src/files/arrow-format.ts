import type { DataType } from 'apache-arrow';
import { isMediaKind, type ExportRow } from '@tessera/core';
import { plainValue, toDate, toNumberArray, type FileColumn, type FileFormat } from './file-format';
import { arrowLib } from '../sdk/modules';

type Arrow = Awaited<ReturnType<typeof arrowLib>>;

function arrowColumn(arrow: Arrow, c: FileColumn, rows: ExportRow[]) {
  const { Bool, Field, Float32, Float64, Int64, List, TimestampMillisecond, Utf8, vectorFromArray } = arrow;
  const values = rows.map((r) => r[c.name] ?? null);
  const make = (type: DataType, conv: (v: unknown) => unknown) => vectorFromArray(values.map((v) => (v === null ? null : conv(v))), type);
  if (isMediaKind(c.type.kind) || c.type.kind === 'string') return make(new Utf8(), String);
  switch (c.type.kind) {
    case 'int':
      return make(new Int64(), (v) => BigInt(v as number));
    case 'float':
      return make(new Float64(), Number);
    case 'bool':
      return make(new Bool(), Boolean);
    case 'timestamp':
      return make(new TimestampMillisecond('UTC'), (v) => toDate(v)!.getTime());
    case 'json':
      return make(new Utf8(), (v) => JSON.stringify(plainValue(v)));
    case 'array': {
      const el = c.type.element ?? 'float';
      const inner = el === 'float' ? new Float32() : el === 'int' ? new Int64() : el === 'bool' ? new Bool() : new Utf8();
      const conv = el === 'float' ? toNumberArray : el === 'int' ? (v: unknown) => Array.from(v as ArrayLike<number>, (x) => BigInt(x)) : (v: unknown) => Array.from(v as ArrayLike<unknown>);
      return make(new List(new Field('item', inner, false)), conv);
    }
    default:
      throw new TypeError(`no Arrow mapping for column ${c.name}`);
  }
}

/** Arrow IPC file format (Feather v2): JSON columns as strings, embeddings as list<float32>. */
export const arrowFormat: FileFormat = {
  name: 'arrow',
  extension: 'arrow',
  contentType: 'application/vnd.apache.arrow.file',
  async encode(columns: FileColumn[], rows: ExportRow[]): Promise<Buffer> {
    const arrow = await arrowLib();
    const table = new arrow.Table(Object.fromEntries(columns.map((c) => [c.name, arrowColumn(arrow, c, rows)])));
    return Buffer.from(arrow.tableToIPC(table, 'file'));
  },
};
