import { createHash } from 'node:crypto';
import type pg from 'pg';
import { TesseraError } from '@tessera/core';
import { ident } from './sql';
import { canonicalJson } from './canonical-json';
import { forgetOldest } from './forget-oldest';

/** The kinds of write a request makes. */
export type WriteOp = 'insert' | 'update' | 'upsert' | 'delete';

/** A write request already committed under its idempotency key. */
export interface RecordedRequest {
  id: string;
  version: number;
  op: string;
  count: number;
  /** null for requests recorded before digests were kept (then a repeat is taken as a retry) */
  digest: string | null;
}

/**
 * What a request wrote, as a digest: the same id with the same op and rows is a retry (applied
 * once); the same id with anything else is a reuse, refused rather than silently dropped.
 */
export function requestDigest(op: WriteOp, rows: unknown[]): string {
  return createHash('sha256').update(canonicalJson({ op, rows })).digest('base64url');
}

/** The requests among `ids` already committed to a table (including ones recorded by versions before grouping). */
export async function findRequests(c: pg.PoolClient, schema: string, tableId: number, ids: string[]): Promise<Map<string, RecordedRequest>> {
  const found = new Map<string, RecordedRequest>();
  if (!ids.length) return found;
  const s = ident(schema);
  // one key lookup per id, whatever the statistics say: as `request_id = ANY($2)` Postgres would
  // rather scan the whole table while it holds up to a few hundred thousand rows (8.5 ms at 60,000,
  // against 0.9 ms), and this runs in every commit, holding the table's lock
  const { rows } = await c.query(
    `SELECT r.* FROM unnest($2::text[]) AS k(id), LATERAL (
       SELECT request_id AS id, version, op, count, digest FROM ${s}.requests WHERE table_id = $1 AND request_id = k.id
       UNION ALL
       SELECT request_id, version, kind, inserts + updates + deletes, NULL FROM ${s}.versions WHERE table_id = $1 AND request_id = k.id
       LIMIT 1
     ) r`,
    [tableId, ids],
  );
  for (const r of rows) if (!found.has(r.id)) found.set(r.id, r);
  return found;
}

/** Record the requests a version committed. */
export async function recordRequests(
  c: pg.PoolClient,
  schema: string,
  tableId: number,
  version: number,
  op: WriteOp,
  requests: Array<{ id: string; count: number; digest: string | null }>,
): Promise<void> {
  if (!requests.length) return;
  // columns as arrays: unnest is cheaper for Postgres than a JSON document of records
  await c.query(
    `INSERT INTO ${ident(schema)}.requests (table_id, request_id, version, op, count, digest, pos)
     SELECT $1, r.id, $2, $3, r.count, r.digest, r.pos - 1 FROM unnest($4::text[], $5::int[], $6::text[]) WITH ORDINALITY AS r(id, count, digest, pos)`,
    [tableId, version, op, requests.map((r) => r.id), requests.map((r) => r.count), requests.map((r) => r.digest)],
  );
}

/**
 * A retry of a recorded request is answered with its first outcome; a reuse with other rows is
 * refused. Without a digest on either side (an id naming its payload), a repeat is a retry.
 */
export function sameRequest(table: string, recorded: RecordedRequest, op: WriteOp, digest: string | null): void {
  if (recorded.digest !== null && digest !== null && (recorded.digest !== digest || recorded.op !== op)) {
    throw new TesseraError(
      'E_REQUEST_REUSED',
      `${table}: request id "${recorded.id}" was already used for a different write (${recorded.op} of ${recorded.count} row(s), version ${recorded.version}); ` +
        'a retry must send the same rows, and a new write needs a new request id',
    );
  }
}

/**
 * Forget a table's requests recorded more than `olderThanMs` ago, oldest versions first, at most
 * `batch` rows a statement and `maxRows` a call (the caller comes back for the rest): one row per
 * producer call otherwise grows without end under a stream. Reads only the oldest entries of the
 * (table_id, version) index, so a call that finds nothing to forget costs one index probe.
 * Returns how many were forgotten.
 */
export function pruneRequests(db: pg.Pool, schema: string, tableId: number, olderThanMs: number, batch = 10_000, maxRows = 200_000): Promise<number> {
  return forgetOldest(
    db,
    { table: `${ident(schema)}.requests`, where: { sql: 'table_id = $1', params: [tableId] }, orderBy: 'version' },
    olderThanMs,
    batch,
    maxRows,
  );
}

/** Request ids per version: how many each version holds and the first few (for `tessera versions`). */
export async function requestsByVersion(db: pg.Pool, schema: string, tableId: number): Promise<Map<number, { count: number; first: string[] }>> {
  const { rows } = await db.query(
    `SELECT version, count(*) AS n, (array_agg(request_id ORDER BY pos))[1:3] AS first
       FROM ${ident(schema)}.requests WHERE table_id = $1 GROUP BY version`,
    [tableId],
  );
  return new Map(rows.map((r) => [r.version as number, { count: Number(r.n), first: r.first as string[] }]));
}

/** Every request a version holds, in the order they were committed. */
export async function requestsOf(db: pg.Pool, schema: string, tableId: number, version: number): Promise<Array<{ id: string; op: string; count: number }>> {
  const { rows } = await db.query(`SELECT request_id AS id, op, count FROM ${ident(schema)}.requests WHERE table_id = $1 AND version = $2 ORDER BY pos`, [
    tableId,
    version,
  ]);
  return rows;
}
