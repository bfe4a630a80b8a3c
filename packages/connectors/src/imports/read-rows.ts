import * as path from 'node:path';
import type { ExportRow, MediaContext } from '@tessera/core';
import { isLocal, localPathOf } from '../url';
import { ImportError, RowCoercer, type ImportColumn } from './coerce';
import { arrowReader, csvReader, jsonlReader, parquetReader, type RawBatches } from './readers';

export type ImportFormat = 'parquet' | 'arrow' | 'jsonl' | 'csv';

export interface ReadRowsOptions {
  /** rows per batch (default 1000) */
  batchSize?: number;
  /** the format, when the file name does not say */
  format?: ImportFormat;
  /** to read from s3:// gs:// az:// https:// (the file is fetched into the media cache first) */
  media?: MediaContext;
  /** called once with the file's own column names, before the first batch */
  onColumns?: (fileColumns: string[]) => void;
}

const BY_EXTENSION: Record<string, ImportFormat> = {
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.arrow': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
  '.arrows': 'arrow',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.csv': 'csv',
};

export function formatOf(file: string): ImportFormat | undefined {
  return BY_EXTENSION[path.extname(new URL(file, 'file:///').pathname).toLowerCase()];
}

/**
 * Rows of a Parquet, Arrow, JSONL or CSV file, typed for the table's columns, in batches.
 * Values are converted as inserts are (numbers from strings, JSON from text); a value that does
 * not fit stops the import with an ImportError naming the row and the column.
 */
export async function* readRows(file: string, columns: ImportColumn[], opts: ReadRowsOptions = {}): AsyncGenerator<ExportRow[]> {
  const format = opts.format ?? formatOf(file);
  if (!format) throw new ImportError(file, `unknown file format (use .parquet, .arrow, .jsonl or .csv, or pass format)`);
  let local: string;
  if (isLocal(file)) local = localPathOf(file);
  else if (opts.media) local = await opts.media.localPath(file);
  else throw new ImportError(file, 'remote files need a media context (opts.media)');
  const reader: RawBatches = { parquet: parquetReader, arrow: arrowReader, jsonl: jsonlReader, csv: csvReader }[format](local);
  const coerce = new RowCoercer(file, columns);
  try {
    const fileColumns = await reader.columns();
    coerce.checkHeader(fileColumns);
    opts.onColumns?.(fileColumns);
    let index = 0;
    for await (const raw of reader.batches(opts.batchSize ?? 1000)) {
      yield raw.map((r) => coerce.row(r, index++));
    }
  } catch (err) {
    if (err instanceof ImportError) throw err;
    throw new ImportError(file, (err as Error).message);
  }
}
