/**
 * Sources: where scheduled backfills read from. A source is declared in the pipeline beside the
 * table it feeds; its reader (a folder, a bucket prefix, a SQL query) lives in @tessera/connectors
 * and implements one of the two contracts below, so core knows only their shape.
 */

/** A file or object a listing source found. */
export interface ListedObject {
  /** its key below the source's root or prefix: `reports/2024/a.pdf` */
  key: string;
  /** what a table stores to refer to it: an absolute path, `s3://`, `gs://` or `az://` URL */
  url: string;
  size: number;
  modified: Date | null;
  /** changes whenever the content does: mtime + size (or a content hash), ETag, generation */
  fingerprint: string;
}

/** A folder or an object-store prefix: each run lists it, page by page, and ingests what is new or changed. */
export interface ListingReader {
  readonly kind: 'listing';
  /** for messages and `tessera schedules` (never holds a secret) */
  readonly description: string;
  /** read the files as tables (Parquet, Arrow IPC, JSONL, CSV) and ingest their rows, rather than one row per file */
  readonly rows: boolean;
  /**
   * Pages of objects (at most `pageSize` each), in key order where the store lists in key order;
   * `startAfter` resumes a listing after a key (a reader that cannot seek may ignore it).
   */
  list(opts: { pageSize: number; startAfter?: string }): AsyncIterable<ListedObject[]>;
  close?(): Promise<void>;
}

/** Where a SQL source stopped: the last row's watermark and key values, as the database printed them. */
export interface QueryCursor {
  watermark: string;
  key: string[];
  /** rows at this watermark are included too (a run started `--from` a watermark) */
  inclusive?: boolean;
}

/** A page of a query source: rows in watermark order, and the cursor after the last of them. */
export interface QueryPage {
  rows: Array<Record<string, unknown>>;
  cursor: QueryCursor | null;
}

/** A SQL query with a watermark column, read incrementally in pages. */
export interface QueryReader {
  readonly kind: 'query';
  readonly description: string;
  /** a column whose value marks a row deleted (non-null and not false): the row is deleted from the table */
  readonly deletedColumn?: string;
  /** rows after `after` (all rows when null), ordered by watermark then key, about `limit` of them */
  page(after: QueryCursor | null, limit: number): Promise<QueryPage>;
  close(): Promise<void>;
}

export type SourceReader<Item = unknown> = (ListingReader | QueryReader) & { readonly __item?: Item };

/** When a source runs by itself: a cron expression (with time zone) or a fixed interval. */
export type Schedule = { cron: string; tz?: string } | { everyMs: number };

/** A source as declared in code (see PipelineBuilder.source). */
export interface SourceDef {
  name: string;
  /** the table its rows go to (written by primary key: new keys inserted, known keys updated) */
  table: string;
  reader: SourceReader;
  /** none: it runs only when asked (`tessera backfill`) */
  schedule?: Schedule;
  /** item (file or row) to table row; null skips the item. Without it the item's fields are the columns. */
  map?: (item: any) => Record<string, unknown> | null | Promise<Record<string, unknown> | null>;
  /** listing sources: delete the rows of files that are gone (checked after each complete listing) */
  deletes: boolean;
  /** files or rows per committed page */
  pageSize: number;
}
