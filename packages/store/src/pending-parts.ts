import type pg from 'pg';
import type { CatalogTable } from './catalog';
import { pendingRows, stageInputs, type RowSelector } from './cells';
import { relationOf } from './relation';
import { storedSize } from './stored-size';

/** A rowid range of pending rows: a part of a batch. */
export interface RowRange {
  lo: number;
  hi: number;
}

/**
 * A batch's pending rows cut into consecutive parts of at most `maxRows` rows and `maxBytes` of the
 * text, JSON and arrays its columns read (a part of one row may hold more), from the rows' stored
 * sizes alone: no value is read. A job that hands its parts to jobs of their own reads no row it
 * does not compute, and splits once, however many parts there are. Empty when no row is pending.
 */
export async function pendingParts(
  db: pg.Pool,
  table: CatalogTable,
  columns: string[],
  sel: RowSelector,
  limits: { maxRows: number; maxBytes: number },
): Promise<RowRange[]> {
  const rel = relationOf(table);
  const { where, values } = pendingRows(columns, sel);
  const size = Number.isFinite(limits.maxBytes) ? storedSize(rel, stageInputs(table, columns)) : null;
  const { rows } = await db.query<[string, string | null]>({
    text: `SELECT t0._rowid, ${size ?? '0'} FROM ${rel.from} ${where} ORDER BY t0._rowid`,
    values,
    rowMode: 'array',
  });
  const parts: RowRange[] = [];
  let part: (RowRange & { rows: number; bytes: number }) | undefined;
  for (const [rowid, stored] of rows) {
    const bytes = Number(stored ?? 0);
    if (part && (part.rows >= limits.maxRows || part.bytes + bytes > limits.maxBytes)) {
      parts.push({ lo: part.lo, hi: part.hi });
      part = undefined;
    }
    part ??= { lo: Number(rowid), hi: Number(rowid), rows: 0, bytes: 0 };
    part.hi = Number(rowid);
    part.rows++;
    part.bytes += bytes;
  }
  if (part) parts.push({ lo: part.lo, hi: part.hi });
  return parts;
}
