import type { TypeSpec } from '../types/column-type';

/** The shape of the rows an export ships: chosen columns, and the key that makes upserts idempotent. */
export interface ExportSchema {
  /** source table or view */
  source: string;
  columns: Array<{ name: string; type: TypeSpec }>;
  key: string[];
}

export type ExportRow = Record<string, unknown>;

/**
 * Where a batch of rows comes from. `version` is the export's ship sequence: it grows by one with
 * every ship of this export of this table (one finalize job's run), and ships of one export never
 * overlap, so append-only sinks (files) name what they write by it and readers order by it. It is
 * not the table version (a revert hands its version number to the next write; a reconcile ships
 * under the current version).
 */
export interface ExportBatch {
  version: number;
}

/**
 * A destination for rows (the customer's Postgres or MySQL, Parquet files...).
 * Every operation must be idempotent: an export job may run twice.
 */
export interface ExportSink {
  /** stable identifier used in the catalog and on the CLI (`tessera export --full <name>`) */
  readonly name: string;
  /** Create the target or check that the existing one fits `schema` (clear error naming the mismatch). */
  prepare(schema: ExportSchema): Promise<void>;
  /** Insert or update rows by key. */
  upsert(schema: ExportSchema, rows: ExportRow[], batch?: ExportBatch): Promise<void>;
  /** Delete rows by key (only the key columns are set). */
  delete(schema: ExportSchema, keys: ExportRow[], batch?: ExportBatch): Promise<void>;
  /**
   * Optional (full ships): after a full ship's upserts, make the target hold no key other than
   * `keys` (every live key of the source, streamed in chunks); LangChain's `cleanup: "full"`.
   * Databases delete the other rows; files write a snapshot marker that makes older files obsolete.
   * Returns the number of rows deleted when the sink knows it. A sink without it: a full ship
   * deletes only the keys the record itself retired (a reverted insert would stay in the target).
   */
  retain?(schema: ExportSchema, keys: AsyncIterable<ExportRow[]>, batch?: ExportBatch): Promise<number | undefined>;
  close(): Promise<void>;
}
