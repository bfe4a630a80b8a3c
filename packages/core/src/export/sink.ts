import type { TypeSpec } from '../types/column-type';

/** The shape of the rows an export ships: chosen columns, and the key that makes upserts idempotent. */
export interface ExportSchema {
  /** source table or view */
  source: string;
  columns: Array<{ name: string; type: TypeSpec }>;
  key: string[];
}

export type ExportRow = Record<string, unknown>;

/** Where a batch of rows comes from: the table version that wrote them (append-only sinks order by it). */
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
  close(): Promise<void>;
}
