import type { ExportRow, ExportSchema } from '@tessera/core';

/** Key values as one string, for de-duplicating rows by key. */
export function keyOf(schema: ExportSchema, row: ExportRow): string {
  return JSON.stringify(schema.key.map((k) => normaliseKeyPart(row[k])));
}

function normaliseKeyPart(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  return v;
}

/**
 * The last row for each key wins: one statement cannot upsert the same key twice, and an export
 * batch may carry several versions of a row.
 */
export function lastPerKey(schema: ExportSchema, rows: ExportRow[]): ExportRow[] {
  if (rows.length < 2) return rows;
  const byKey = new Map<string, ExportRow>();
  for (const r of rows) {
    const k = keyOf(schema, r);
    byKey.delete(k);
    byKey.set(k, r);
  }
  return byKey.size === rows.length ? rows : [...byKey.values()];
}

/** Split rows into batches bounded by count and by an estimate of their encoded bytes. */
export function* batches<T>(items: T[], maxRows: number, maxBytes: number, sizeOf: (item: T) => number): Generator<T[]> {
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const s = sizeOf(item);
    if (batch.length > 0 && (batch.length >= maxRows || bytes + s > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += s;
  }
  if (batch.length > 0) yield batch;
}

/** Rough encoded size of a row: arrays by length, strings by length, the rest a few bytes. */
export function estimateRowBytes(row: ExportRow, columns: string[]): number {
  let n = 16;
  for (const c of columns) {
    const v = row[c];
    if (typeof v === 'string') n += v.length + 4;
    else if (Array.isArray(v) || ArrayBuffer.isView(v)) n += (v as ArrayLike<unknown>).length * 20 + 4;
    else if (v !== null && typeof v === 'object') n += JSON.stringify(v).length;
    else n += 12;
  }
  return n;
}
