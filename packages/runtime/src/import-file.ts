import { TesseraError, type MediaContext } from '@tessera/core';
import { readRows, type ImportFormat } from '@tessera/connectors';
import type { Engine } from './engine';

export interface ImportFileOptions {
  /** when the file name does not say (.parquet, .arrow/.feather, .jsonl/.ndjson, .csv) */
  format?: ImportFormat;
  /** rows per insert, i.e. per table version and per transaction (default 10,000) */
  batchSize?: number;
  /**
   * Makes the import idempotent: batch k is inserted with the request id `<id>#<batchSize>:<k>`, so
   * a re-run (after a crash halfway, or by mistake) skips the batches that committed and applies the rest.
   */
  requestId?: string;
  /** to read s3:// gs:// az:// https:// files (fetched into its cache first) */
  media?: MediaContext;
  /** after each batch */
  onBatch?: (progress: ImportProgress) => void;
}

export interface ImportProgress {
  rows: number;
  batches: number;
  version: number;
  duplicate: boolean;
}

export interface ImportResult {
  rows: number;
  batches: number;
  /** the table versions the batches made (or found, for batches a previous run applied) */
  versions: number[];
  /** batches a previous run with the same request id had applied already */
  alreadyApplied: number;
  /** columns of the file the table does not have (or that are computed), not imported */
  ignoredColumns: string[];
}

/**
 * Import a Parquet, Arrow IPC, JSONL or CSV file into a table: streamed in batches (a large file
 * never sits in memory), each value typed for its column as inserts are; a value that does not fit
 * stops the import with an ImportError naming the file, the row and the column. Batches already
 * inserted stay (each is a version of its own); with a request id, running it again finishes the job.
 */
export async function importFile(engine: Engine, pipeline: string, tableName: string, file: string, opts: ImportFileOptions = {}): Promise<ImportResult> {
  const table = await engine.store.table(pipeline, tableName);
  if (table.kind === 'view')
    throw new TesseraError('E_IMPORT', `${pipeline}.${tableName} is a view: its rows come from its iterator; import into its base table`);
  const batchSize = opts.batchSize ?? 10_000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
    throw new TesseraError('E_IMPORT', `batch size must be an integer from 1 to 100000, got ${batchSize}`);
  const writable = table.columns.filter((c) => !c.computed);
  const result: ImportResult = { rows: 0, batches: 0, versions: [], alreadyApplied: 0, ignoredColumns: [] };
  const batches = readRows(
    file,
    writable.map((c) => ({ name: c.name, type: c.type })),
    {
      batchSize,
      ...(opts.format ? { format: opts.format } : {}),
      ...(opts.media ? { media: opts.media } : {}),
      onColumns: (fileColumns) => {
        const known = new Set(writable.map((c) => c.name));
        result.ignoredColumns = fileColumns.filter((c) => !known.has(c));
      },
    },
  );
  for await (const rows of batches) {
    const requestId = opts.requestId === undefined ? undefined : `${opts.requestId}#${batchSize}:${result.batches}`;
    const r = await engine.insert(pipeline, tableName, rows, requestId === undefined ? {} : { requestId });
    result.rows += rows.length;
    result.batches++;
    result.versions.push(r.version);
    if (r.duplicate) result.alreadyApplied++;
    opts.onBatch?.({ rows: result.rows, batches: result.batches, version: r.version, duplicate: r.duplicate });
  }
  return result;
}
