/**
 * The `ingest` queue's job payload, as the workers validate it (`IngestJob` in @tessera/runtime).
 * Rows are plain JSON objects keyed by column name; `requestId` makes a retried send apply once.
 */
export interface IngestPayload {
  pipeline: string;
  table: string;
  op: 'insert' | 'update' | 'upsert' | 'delete';
  rows: Record<string, unknown>[];
  requestId?: string;
}

export const INGEST_QUEUE = 'ingest';
/** the workers reject larger jobs; send more rows as several requests */
export const MAX_ROWS_PER_REQUEST = 100_000;
