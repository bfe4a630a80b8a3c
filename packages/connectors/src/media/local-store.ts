import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { CellInputError, type MediaStore } from '@tessera/core';
import { joinLocation, localPathOf } from '../url';

/** A directory on the worker's disk (`file://` URLs and plain paths): the default destination. */
export class LocalMediaStore implements MediaStore {
  readonly schemes = ['file'] as const;

  async put(base: string, key: string, body: Buffer | Readable): Promise<string> {
    const url = joinLocation(base, key);
    const file = localPathOf(url);
    await mkdir(path.dirname(file), { recursive: true });
    // write beside the target and rename, so a reader never sees half a file
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      if (Buffer.isBuffer(body)) await writeFile(tmp, body);
      else await pipeline(body, createWriteStream(tmp));
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return url;
  }

  async exists(url: string): Promise<boolean> {
    try {
      return (await stat(localPathOf(url))).isFile();
    } catch {
      return false;
    }
  }

  async get(url: string): Promise<Readable> {
    const file = localPathOf(url);
    if (!(await this.exists(url))) throw new CellInputError(`media file not found: ${file}`, { ref: url });
    return createReadStream(file);
  }
}
