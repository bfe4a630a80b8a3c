import { createHash } from 'node:crypto';
import { constants as fsConstants, copyFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CellInputError, type IteratorContext, type MediaContext } from '@tessera/core';

/**
 * A real local-disk MediaContext for tests: reads file:// URLs and plain paths, writes generated
 * media under sha256(content).ext below the destination directory (so writing twice is harmless).
 */
export class LocalMediaContext implements MediaContext {
  readonly defaultDestination: string;
  writes = 0;
  private readonly dirs = new Set<string>();

  constructor(root: string) {
    this.defaultDestination = pathToFileURL(root).href;
  }

  async localPath(ref: string): Promise<string> {
    if (ref.startsWith('file://')) return fileURLToPath(ref);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) throw new CellInputError(`${ref}: unreachable (the test media context serves local files only)`);
    return ref;
  }

  async write(destination: string, body: Buffer | string, opts: { extension: string; contentType?: string }): Promise<string> {
    const bytes = typeof body === 'string' ? await readFile(body) : body;
    const key = `${createHash('sha256').update(bytes).digest('hex')}.${opts.extension}`;
    const dir = destination.startsWith('file://') ? fileURLToPath(destination) : destination;
    if (!this.dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.dirs.add(dir);
    }
    const target = join(dir, key);
    this.writes++;
    // 'wx': create only; an existing object under this key already holds these bytes. Synchronous:
    // a local page-cache write of a frame costs less than the thread-pool round trip (measured: half the CPU)
    try {
      if (typeof body === 'string') copyFileSync(body, target, fsConstants.COPYFILE_EXCL);
      else writeFileSync(target, bytes, { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    return pathToFileURL(target).href;
  }
}

/** A context over a local media root; `warnings` collects what the iterator reported with `warn`. */
export function localContext(root: string): IteratorContext & { media: LocalMediaContext; warnings: string[] } {
  const media = new LocalMediaContext(root);
  const warnings: string[] = [];
  return { media, destination: media.defaultDestination, warnings, warn: (m: string) => void warnings.push(m) };
}

/** Drain an iterator run into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const row of it) out.push(row);
  return out;
}
