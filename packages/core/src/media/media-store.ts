import type { Readable } from 'node:stream';
import type { ListedObject } from '../source/source-def';

/**
 * A blob store addressed by URL (`file://`, `s3://`, `gs://`, `az://`, `https://`).
 * Implementations live in @tessera/connectors; core only knows this contract.
 */
export interface MediaStore {
  /** URL schemes this store serves, e.g. ['s3'] */
  readonly schemes: readonly string[];
  /** Write bytes under `key` below the destination `base` URL; returns the object's URL. */
  put(base: string, key: string, body: Buffer | Readable, opts?: { contentType?: string; size?: number }): Promise<string>;
  /** Does the object exist? (content-addressed writes skip the upload when it does) */
  exists(url: string): Promise<boolean>;
  /**
   * What identifies the object's current content (its ETag or generation, with its size), in the
   * form `list` gives it; null when the store cannot say. Workers keep one cached copy per
   * fingerprint, so an object overwritten under the same URL is read anew rather than from an old
   * copy. Throws a CellInputError when the object does not exist. Without it, copies are cached by URL alone.
   */
  fingerprint?(url: string): Promise<string | null>;
  /** Stream the object's bytes. Throws a CellInputError when it does not exist. */
  get(url: string): Promise<Readable>;
  /**
   * List the objects below a prefix URL page by page (never the whole listing in memory), in key
   * order, keys relative to the prefix; `startAfter` (a relative key) resumes a listing. Sources use it.
   */
  list?(prefix: string, opts: { pageSize: number; startAfter?: string }): AsyncIterable<ListedObject[]>;
}

/**
 * What UDFs and iterators use to touch media: a local file for reading (downloaded and cached when
 * remote, since ffmpeg and pdfjs want files), and content-addressed writes to the column's destination.
 */
export interface MediaContext {
  /** A local filesystem path holding the object's bytes. */
  localPath(ref: string): Promise<string>;
  /** Write generated media under a content-addressed key at `destination`; returns its URL. */
  write(destination: string, body: Buffer | string /* local file path */, opts: { extension: string; contentType?: string }): Promise<string>;
  /** The default destination for generated media when a column has none. */
  readonly defaultDestination: string;
}
