import { opendir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { ListedObject, ListingReader, SourceReader } from '@tessera/core';
import { localPathOf } from '../url';
import { sha256File } from '../media/hash';
import { globMatcher } from './glob';

/** A file a folder or bucket source found, as `map` receives it. */
export type SourceFile = ListedObject;

export interface FolderOptions {
  /** which files, relative to the folder (`**\/*.pdf`, `{a,b}/*.md`); all files by default */
  glob?: string | string[];
  /** directory names never entered (default: node_modules and names starting with a dot) */
  skipDirs?: string[];
  /** a file counts as changed when its content hash changes, rather than its size or mtime (reads every file each run) */
  hash?: boolean;
  /** read the files as tables (Parquet, Arrow, JSONL, CSV) and ingest their rows */
  rows?: boolean;
}

/**
 * A local folder (a directory every worker sees, e.g. a shared volume): each run walks it and
 * ingests new and changed files (by path, size and mtime, or content hash). The walk is streamed
 * in pages; symlinked directories are not followed.
 */
export function folder(dir: string, opts?: FolderOptions & { rows?: false }): SourceReader<SourceFile>;
export function folder(dir: string, opts: FolderOptions & { rows: true }): SourceReader<Record<string, unknown>>;
export function folder(dir: string, opts: FolderOptions = {}): SourceReader<any> {
  const root = localPathOf(dir);
  const match = globMatcher(opts.glob);
  const skip = (name: string) => (opts.skipDirs ? opts.skipDirs.includes(name) : name === 'node_modules' || name.startsWith('.'));
  const reader: ListingReader = {
    kind: 'listing',
    description: `folder ${root}${opts.glob ? ` (${[opts.glob].flat().join(', ')})` : ''}${opts.rows ? ' as rows' : ''}`,
    rows: !!opts.rows,
    async *list({ pageSize }) {
      const rootStat = await stat(root).catch(() => undefined);
      if (!rootStat?.isDirectory()) throw new Error(`folder ${root} does not exist or is not a directory`);
      let page: ListedObject[] = [];
      for await (const file of walk(root, '', skip)) {
        if (!match(file.key)) continue;
        const s = await stat(file.abs).catch(() => undefined); // gone since it was listed: next run
        if (!s?.isFile()) continue;
        const fingerprint = opts.hash ? `sha256:${await sha256File(file.abs)}` : `${s.size}:${Math.round(s.mtimeMs)}`;
        page.push({ key: file.key, url: file.abs, size: s.size, modified: s.mtime, fingerprint });
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length) yield page;
    },
  };
  return reader;
}

/** Files below `dir`, names sorted in each directory; a directory is read as a stream, never all at once. */
async function* walk(root: string, rel: string, skip: (name: string) => boolean): AsyncGenerator<{ key: string; abs: string }> {
  const abs = path.join(root, rel);
  const names: Array<{ name: string; dir: boolean; file: boolean }> = [];
  for await (const e of await opendir(abs)) names.push({ name: e.name, dir: e.isDirectory(), file: e.isFile() || e.isSymbolicLink() });
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of names) {
    const key = rel ? `${rel}/${e.name}` : e.name;
    if (e.dir) {
      if (!skip(e.name)) yield* walk(root, key, skip);
    } else if (e.file) yield { key, abs: path.join(root, key) };
  }
}
