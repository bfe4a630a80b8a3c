import type { ListingReader, SourceReader } from '@tessera/core';
import { ConfigError } from '@tessera/core';
import { mediaStoreFor } from '../media/resolve';
import { schemeOf } from '../url';
import { globMatcher } from './glob';
import type { SourceFile } from './folder';

export interface ObjectsOptions {
  /** which objects, relative to the prefix (`**\/*.pdf`); all by default */
  glob?: string | string[];
  /** read the objects as tables (Parquet, Arrow, JSONL, CSV) and ingest their rows */
  rows?: boolean;
}

/**
 * An object-store prefix, `s3://bucket/prefix`, `gs://bucket/prefix` or `az://account/container/prefix`:
 * each run lists it page by page (through the media stores, with the SDKs' own credentials) and
 * ingests new and changed objects (by key and ETag or generation).
 */
export function objects(prefix: string, opts?: ObjectsOptions & { rows?: false }): SourceReader<SourceFile>;
export function objects(prefix: string, opts: ObjectsOptions & { rows: true }): SourceReader<Record<string, unknown>>;
export function objects(prefix: string, opts: ObjectsOptions = {}): SourceReader<any> {
  const scheme = schemeOf(prefix);
  if (!['s3', 'gs', 'az'].includes(scheme))
    throw new ConfigError(`objects(${JSON.stringify(prefix)}): expected an s3://, gs:// or az:// prefix (use folder() for local directories)`);
  const match = globMatcher(opts.glob);
  const base = prefix.replace(/\/+$/, '');
  const reader: ListingReader = {
    kind: 'listing',
    description: `objects ${base}${opts.glob ? ` (${[opts.glob].flat().join(', ')})` : ''}${opts.rows ? ' as rows' : ''}`,
    rows: !!opts.rows,
    async *list(o) {
      const store = mediaStoreFor(base);
      if (!store.list) throw new ConfigError(`the ${scheme}:// store cannot list objects`);
      for await (const page of store.list(base, o)) {
        const wanted = page.filter((obj) => match(obj.key));
        if (wanted.length) yield wanted;
      }
    },
  };
  return reader;
}
