import type { Queryable } from './db';

/** Where a table's oldest rows are: its filter on an index's leading columns, and the index's order. */
export interface OldestRows {
  /** schema-qualified, quoted */
  table: string;
  /** on the index's leading columns, with its parameters as $1, $2, ... */
  where?: { sql: string; params: unknown[] };
  /** the rest of the index, which puts the oldest rows first */
  orderBy: string;
}

/**
 * Delete rows whose `created_at` is more than `olderThanMs` ago, oldest first, at most `batch` a
 * statement and `maxRows` a call (the caller comes back for the rest). Reads only the oldest
 * entries of the index, so a call that finds nothing to forget costs one index probe; each
 * statement takes the oldest rows' ctids from the index, then deletes by a TID scan of just those
 * (a join would seq-scan the table). Returns how many were deleted.
 */
export async function forgetOldest(db: Queryable, at: OldestRows, olderThanMs: number, batch: number, maxRows: number): Promise<number> {
  const params = at.where?.params ?? [];
  const where = at.where ? `WHERE ${at.where.sql}` : '';
  const age = `$${params.length + 1}`;
  // the usual tick: the oldest row is young enough
  const { rows } = await db.query(
    `SELECT created_at < now() - ${age} * interval '1 millisecond' AS old FROM ${at.table} ${where} ORDER BY ${at.orderBy} LIMIT 1`,
    [...params, olderThanMs],
  );
  if (!rows[0]?.old) return 0;
  let forgotten = 0;
  while (forgotten < maxRows) {
    const { rowCount } = await db.query(
      `DELETE FROM ${at.table}
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${at.table} ${where} ORDER BY ${at.orderBy} LIMIT $${params.length + 2}))
          AND created_at < now() - ${age} * interval '1 millisecond'`,
      [...params, olderThanMs, Math.min(batch, maxRows - forgotten)],
    );
    forgotten += rowCount ?? 0;
    if ((rowCount ?? 0) < batch) return forgotten; // the oldest are young enough now (or there are no more)
  }
  return forgotten;
}
