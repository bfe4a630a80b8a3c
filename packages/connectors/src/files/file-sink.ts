import type { ExportBatch, ExportRow, ExportSchema, ExportSink, MediaStore } from '@tessera/core';
import { checkIdentifier } from '../sql/identifiers';
import { joinLocation } from '../url';
import { createMediaStoreResolver, type MediaStoreResolver } from '../media/resolve';
import { sha256 } from '../media/hash';
import { batches, estimateRowBytes, lastPerKey } from '../sinks/rows';
import type { FileColumn, FileFormat } from './file-format';
import { parquetFormat } from './parquet-format';
import { arrowFormat } from './arrow-format';
import { csvFormat, jsonlFormat } from './text-formats';

export interface FileSinkOptions {
  /** a local directory, file:// URL, or s3:// gs:// az:// prefix */
  destination: string;
  /** target size of one file, estimated before encoding (default 64 MiB) */
  partitionBytes?: number;
  name?: string;
  /** stores to use instead of the defaults (tests, custom clients) */
  stores?: MediaStore[];
}

/**
 * Rows written as files under `<destination>/<source>/`. Files are append-only, so each upsert call
 * writes parts named by the export's ship sequence (`ExportBatch.version`) and the hash of their
 * content, `part-<seq>-<hash>` (re-running a job rewrites nothing), and a delete writes
 * `delete-<seq>-<hash>` files holding the deleted keys. A full ship writes every live row, then
 * `snapshot-<seq>.json`. Reading rule: let S be the highest snapshot sequence (0 if none); ignore
 * files whose sequence is below S; per key, take the row of the highest sequence unless a delete of
 * a higher sequence holds that key (sequences are zero-padded, so the names sort in order). One
 * sequence never holds two rows for one key, nor a row and a delete of the same key.
 */
export class FileSink implements ExportSink {
  readonly name: string;
  /** the files the last upsert or delete wrote (or found already there) */
  written: string[] = [];
  private readonly storeFor: MediaStoreResolver;

  constructor(
    private readonly format: FileFormat,
    private readonly opts: FileSinkOptions,
  ) {
    this.name = opts.name ?? `${format.name}:${opts.destination}`;
    this.storeFor = createMediaStoreResolver(opts.stores);
  }

  async prepare(schema: ExportSchema): Promise<void> {
    checkIdentifier('source', schema.source);
    for (const c of schema.columns) checkIdentifier('column', c.name);
    this.storeFor(this.opts.destination); // an unknown scheme fails here, before any work
  }

  async upsert(schema: ExportSchema, rows: ExportRow[], batch?: ExportBatch): Promise<void> {
    await this.writeParts(schema, 'part', schema.columns, lastPerKey(schema, rows), batch);
  }

  async delete(schema: ExportSchema, keys: ExportRow[], batch?: ExportBatch): Promise<void> {
    const keyColumns = schema.key.map((k) => schema.columns.find((c) => c.name === k)!);
    await this.writeParts(schema, 'delete', keyColumns, keys, batch);
  }

  private async writeParts(schema: ExportSchema, kind: 'part' | 'delete', columns: FileColumn[], rows: ExportRow[], batch?: ExportBatch): Promise<void> {
    this.written = [];
    if (rows.length === 0) return;
    await this.prepare(schema);
    const dir = joinLocation(this.opts.destination, schema.source);
    const store = this.storeFor(dir);
    const names = columns.map((c) => c.name);
    for (const part of batches(rows, Number.MAX_SAFE_INTEGER, this.opts.partitionBytes ?? 64 * 1024 * 1024, (r) => estimateRowBytes(r, names))) {
      const body = await this.format.encode(columns, part);
      const version = batch ? `${String(batch.version).padStart(10, '0')}-` : '';
      const key = `${kind}-${version}${sha256(body).slice(0, 32)}.${this.format.extension}`;
      const url = joinLocation(dir, key);
      if (!(await store.exists(url))) await store.put(dir, key, body, { contentType: this.format.contentType, size: body.length });
      this.written.push(url);
    }
  }

  /**
   * A full ship's cleanup: the snapshot marker. Its parts (same sequence) hold every live row, so by
   * the reading rule every older file is obsolete (an operator may delete files below the latest
   * snapshot's sequence). Without a sequence there is nothing to mark.
   */
  async retain(schema: ExportSchema, _keys: AsyncIterable<ExportRow[]>, batch?: ExportBatch): Promise<undefined> {
    if (!batch) return undefined;
    await this.prepare(schema);
    const dir = joinLocation(this.opts.destination, schema.source);
    const body = Buffer.from(`${JSON.stringify({ source: schema.source, seq: batch.version, rule: 'files below this sequence are obsolete' })}\n`);
    const key = `snapshot-${String(batch.version).padStart(10, '0')}.json`;
    await this.storeFor(dir).put(dir, key, body, { contentType: 'application/json', size: body.length });
    this.written = [joinLocation(dir, key)];
    return undefined;
  }

  async close(): Promise<void> {}
}

export const parquetFiles = (opts: FileSinkOptions): FileSink => new FileSink(parquetFormat, opts);
export const arrowFiles = (opts: FileSinkOptions): FileSink => new FileSink(arrowFormat, opts);
export const jsonlFiles = (opts: FileSinkOptions): FileSink => new FileSink(jsonlFormat, opts);
export const csvFiles = (opts: FileSinkOptions): FileSink => new FileSink(csvFormat, opts);
