import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { sha256 } from './hash';

/**
 * Remote media downloaded to the worker's disk (ffmpeg and pdfjs want files), bounded in bytes.
 * Least recently used entries are evicted first; the order survives restarts through file mtimes.
 */
export class LocalCache {
  /** file name -> size, in least-recently-used-first order */
  private readonly entries = new Map<string, number>();
  private total = 0;
  private loaded?: Promise<void>;
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /**
   * The cached file for `ref` as of `fingerprint` (what names the object's current content; see
   * MediaStore.fingerprint), fetching it with `open` on a miss. A copy of an older content is not
   * used: it ages out like any entry.
   */
  async get(ref: string, open: () => Promise<Readable>, fingerprint: string | null = null): Promise<string> {
    await (this.loaded ??= this.load());
    const name = cacheName(ref, fingerprint);
    const file = path.join(this.dir, name);
    const size = this.entries.get(name);
    if (size !== undefined) {
      this.entries.delete(name);
      this.entries.set(name, size);
      await utimes(file, new Date(), new Date()).catch(() => undefined);
      return file;
    }
    let pending = this.inflight.get(name);
    if (!pending) {
      pending = this.fetch(name, file, open).finally(() => this.inflight.delete(name));
      this.inflight.set(name, pending);
    }
    return pending;
  }

  get bytes(): number {
    return this.total;
  }

  private async fetch(name: string, file: string, open: () => Promise<Readable>): Promise<string> {
    const tmp = path.join(this.dir, `.${name}.${randomBytes(6).toString('hex')}.part`);
    try {
      await pipeline(await open(), createWriteStream(tmp));
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const { size } = await stat(file);
    this.entries.set(name, size);
    this.total += size;
    await this.evict(name);
    return file;
  }

  /** Drop the oldest entries until within bounds; the entry just fetched is kept even if it alone is over. */
  private async evict(keep: string): Promise<void> {
    for (const [name, size] of this.entries) {
      if (this.total <= this.maxBytes) break;
      if (name === keep) continue;
      this.entries.delete(name);
      this.total -= size;
      await rm(path.join(this.dir, name), { force: true });
    }
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const found: Array<{ name: string; size: number; at: number }> = [];
    for (const name of await readdir(this.dir)) {
      const full = path.join(this.dir, name);
      if (name.startsWith('.')) {
        await rm(full, { force: true }); // a download interrupted by a crash
        continue;
      }
      const s = await stat(full).catch(() => undefined);
      if (s?.isFile()) found.push({ name, size: s.size, at: s.mtimeMs });
    }
    found.sort((a, b) => a.at - b.at);
    for (const f of found) {
      this.entries.set(f.name, f.size);
      this.total += f.size;
    }
    await this.evict('');
  }
}

/** Hash of the URL and fingerprint (safe file name, no collisions) plus the URL's extension, which tools like ffmpeg use as a hint. */
function cacheName(ref: string, fingerprint: string | null): string {
  const ext = /\.([a-z0-9]{1,8})$/i.exec(new URL(ref).pathname)?.[1];
  const hash = sha256(Buffer.from(fingerprint === null ? ref : `${ref}\n${fingerprint}`));
  return ext ? `${hash}.${ext.toLowerCase()}` : hash;
}
