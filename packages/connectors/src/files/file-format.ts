import type { ExportRow, TypeSpec } from '@tessera/core';

export interface FileColumn {
  name: string;
  type: TypeSpec;
}

/** One file format: rows in, the bytes of one file out (async: a format's library is imported on first use). */
export interface FileFormat {
  readonly name: 'parquet' | 'arrow' | 'jsonl' | 'csv';
  readonly extension: string;
  readonly contentType: string;
  encode(columns: FileColumn[], rows: ExportRow[]): Promise<Buffer>;
}

/** Values as JSON-friendly scalars: Dates as ISO strings, typed arrays as plain arrays, bigints as numbers. */
export function plainValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  return v;
}

export function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(v as string | number);
}

export function toNumberArray(v: unknown): number[] | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return JSON.parse(v) as number[];
  return Array.from(v as ArrayLike<number>, Number);
}
