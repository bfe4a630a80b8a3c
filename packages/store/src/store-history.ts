import type pg from 'pg';
import { ident } from './sql';
import type { CatalogTable } from './catalog';
import { markShipped, unshippedVersions } from './pending';
import { pruneRequests } from './requests';

/** What a version did, as its exports need to know: its kind and how many rows it deleted. */
export interface VersionChange {
  kind: string;
  deletes: number;
}

/** Where a version's work stands (see History.progress). */
export interface VersionProgress {
  /** its finalize ran: its batches are done and its exports have its rows (rows still pending held back) */
  shipped: boolean;
  /** shipped, and no cell of its rows was left for workers: none can be pending (its rows need not be read) */
  complete: boolean;
  /** why its computation was aborted, or null */
  aborted: string | null;
}

/** The versions of a table whose computation was aborted (an `onError: 'abort'` column failed). */
export async function abortedVersions(db: pg.Pool, schema: string, table: CatalogTable): Promise<number[]> {
  const { rows } = await db.query(`SELECT version FROM ${ident(schema)}.versions WHERE table_id = $1 AND aborted IS NOT NULL`, [table.id]);
  return rows.map((r) => r.version);
}

/** A table's history beyond its rows, as workers and the engine record it: what each version did, aborts, enqueueing, request ids. */
export class History {
  private readonly v: string;
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {
    this.v = `${ident(schema)}.versions`;
  }

  /** What a version did; undefined when its record is gone (a reverted version). */
  async change(table: CatalogTable, version: number): Promise<VersionChange | undefined> {
    const { rows } = await this.pool.query(`SELECT kind, deletes FROM ${this.v} WHERE table_id = $1 AND version = $2`, [table.id, version]);
    return rows[0] ? { kind: rows[0].kind, deletes: rows[0].deletes } : undefined;
  }

  /** Record that a version's computation stopped on an error in an `onError: 'abort'` column. */
  async abort(table: CatalogTable, version: number, message: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.v} SET aborted = coalesce(aborted, $3) WHERE table_id = $1 AND version = $2`, [table.id, version, message]);
  }

  /** Why a version was aborted, or null. */
  async aborted(table: CatalogTable, version: number): Promise<string | null> {
    const { rows } = await this.pool.query(`SELECT aborted FROM ${this.v} WHERE table_id = $1 AND version = $2`, [table.id, version]);
    return rows[0]?.aborted ?? null;
  }

  /** The versions whose computation was aborted. */
  abortedList(table: CatalogTable): Promise<number[]> {
    return abortedVersions(this.pool, this.schema, table);
  }

  /** The version written under a request id (see versionFor), or null. */
  async byRequest(table: CatalogTable, requestId: string): Promise<number | null> {
    const { rows } = await this.pool.query(`SELECT version FROM ${this.v} WHERE table_id = $1 AND request_id = $2`, [table.id, requestId]);
    return rows[0]?.version ?? null;
  }

  /** Record that these versions' work was enqueued (see unqueued). */
  async markEnqueued(table: CatalogTable, versions: number[]): Promise<void> {
    if (versions.length)
      await this.pool.query(`UPDATE ${this.v} SET enqueued_at = now() WHERE table_id = $1 AND version = ANY($2::int[]) AND enqueued_at IS NULL`, [
        table.id,
        versions,
      ]);
  }

  /** Those of `versions` whose work was never recorded as enqueued (the writer died in between). */
  async unqueued(table: CatalogTable, versions: number[]): Promise<number[]> {
    if (!versions.length) return [];
    const { rows } = await this.pool.query(`SELECT version FROM ${this.v} WHERE table_id = $1 AND version = ANY($2::int[]) AND enqueued_at IS NULL`, [
      table.id,
      versions,
    ]);
    return rows.map((r) => r.version);
  }

  /** Where a version's work stands: its finalize shipped it, or its computation was aborted; undefined when it has no record. */
  async progress(table: CatalogTable, version: number): Promise<VersionProgress | undefined> {
    const { rows } = await this.pool.query(
      `SELECT shipped_at IS NOT NULL AS shipped, shipped_at IS NOT NULL AND nothing_left AS complete, aborted FROM ${this.v} WHERE table_id = $1 AND version = $2`,
      [table.id, version],
    );
    return rows[0] ? { shipped: rows[0].shipped, complete: rows[0].complete, aborted: rows[0].aborted } : undefined;
  }

  /** A version's finalize shipped it (see unshipped); `nothingLeft`: no cell of its rows was left for workers. */
  shipped(table: CatalogTable, version: number, nothingLeft = false): Promise<void> {
    return markShipped(this.pool, this.schema, table.id, version, nothingLeft);
  }

  /** Versions older than `olderThanMs` that no finalize has shipped yet. */
  unshipped(table: CatalogTable, olderThanMs: number): Promise<number[]> {
    return unshippedVersions(this.pool, this.schema, table.id, olderThanMs);
  }

  /**
   * Forget the request ids (idempotency keys) recorded more than `olderThanMs` ago; a request sent
   * again after that applies again. Returns how many were forgotten (see pruneRequests).
   */
  forgetRequests(table: CatalogTable, olderThanMs: number): Promise<number> {
    return pruneRequests(this.pool, this.schema, table.id, olderThanMs);
  }

  /** When a version was committed, in microseconds: tells apart two versions with one number (a revert hands its number to the next write). */
  async stamp(table: CatalogTable, version: number): Promise<string | undefined> {
    const { rows } = await this.pool.query(
      `SELECT (extract(epoch FROM created_at) * 1000000)::bigint::text AS stamp FROM ${this.v} WHERE table_id = $1 AND version = $2`,
      [table.id, version],
    );
    return rows[0]?.stamp;
  }
}
