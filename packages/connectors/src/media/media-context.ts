import { stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CellInputError, ConfigError, type MediaContext, type MediaStore } from '@tessera/core';
import { isLocal, joinLocation, localPathOf } from '../url';
import { createMediaStoreResolver } from './resolve';
import { LocalCache } from './local-cache';
import { sha256, sha256File } from './hash';

export interface MediaContextOptions {
  /** stores to use instead of the defaults, by scheme */
  stores?: MediaStore[];
  /** where generated media goes when a column has no destination (env TESSERA_MEDIA_DESTINATION) */
  defaultDestination?: string;
  /** local cache of remote media (env TESSERA_MEDIA_CACHE_DIR) */
  cacheDir?: string;
  /** cache size bound in bytes (env TESSERA_MEDIA_CACHE_MAX_BYTES, default 5 GiB) */
  cacheMaxBytes?: number;
}

const EXTENSION = /^[a-z0-9]{1,10}$/i;

export interface TesseraMediaContext extends MediaContext {
  /** the store serving a URL, for callers that want to stream instead of caching */
  storeFor(url: string): MediaStore;
}

export function createMediaContext(opts: MediaContextOptions = {}): TesseraMediaContext {
  const env = process.env;
  const storeFor = createMediaStoreResolver(opts.stores);
  // a local directory is made absolute here, so a relative one means the same after a chdir; URLs stay as they are
  const destination = opts.defaultDestination || env.TESSERA_MEDIA_DESTINATION || '.tessera/media';
  const defaultDestination = isLocal(destination) ? localPathOf(destination) : destination;
  const cacheMax = opts.cacheMaxBytes ?? (env.TESSERA_MEDIA_CACHE_MAX_BYTES ? Number(env.TESSERA_MEDIA_CACHE_MAX_BYTES) : 5 * 1024 ** 3);
  if (!Number.isFinite(cacheMax) || cacheMax <= 0) throw new ConfigError(`media cache size must be a positive number of bytes, got ${cacheMax}`);
  const cache = new LocalCache(opts.cacheDir ?? env.TESSERA_MEDIA_CACHE_DIR ?? path.join(os.tmpdir(), 'tessera-media-cache'), cacheMax);

  return {
    defaultDestination,
    storeFor,

    async localPath(ref) {
      if (isLocal(ref)) {
        const file = localPathOf(ref);
        const s = await stat(file).catch(() => undefined);
        if (!s?.isFile()) throw new CellInputError(`media file not found: ${file}`, { ref });
        return file;
      }
      const store = storeFor(ref);
      return cache.get(ref, () => store.get(ref));
    },

    async write(destination, body, { extension, contentType }) {
      const ext = extension.replace(/^\./, '');
      if (!EXTENSION.test(ext)) throw new ConfigError(`invalid media extension ${JSON.stringify(extension)}`);
      const dest = destination || defaultDestination;
      const isBuffer = Buffer.isBuffer(body);
      const hash = isBuffer ? sha256(body) : await sha256File(body);
      const key = `${hash}.${ext.toLowerCase()}`;
      const store = storeFor(dest);
      const url = joinLocation(dest, key);
      // content-addressed: the same bytes always land on the same key, so an existing object is already right
      if (await store.exists(url)) return url;
      const size = isBuffer ? body.length : (await stat(body)).size;
      return store.put(dest, key, isBuffer ? body : createReadStream(body), { size, ...(contentType ? { contentType } : {}) });
    },
  };
}
