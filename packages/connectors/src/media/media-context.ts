import { stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CellInputError, ConfigError, TransientError, codeOf, type MediaContext, type MediaStore } from '@tessera/core';
import { Transform, type Readable } from 'node:stream';
import { isLocal, joinLocation, localPathOf } from '../url';
import { redactRef } from './redact';
import { createMediaStoreResolver } from './resolve';
import { LocalCache } from './local-cache';
import { sha256, sha256File } from './hash';
import { mediaPolicyFromEnv, type MediaPolicy } from './policy';

export interface MediaContextOptions {
  /** stores to use instead of the defaults, by scheme */
  stores?: MediaStore[];
  /** where generated media goes when a column has no destination (env TESSERA_MEDIA_DESTINATION) */
  defaultDestination?: string;
  /** local cache of remote media (env TESSERA_MEDIA_CACHE_DIR) */
  cacheDir?: string;
  /** cache size bound in bytes (env TESSERA_MEDIA_CACHE_MAX_BYTES, default 5 GiB) */
  cacheMaxBytes?: number;
  /** what may be read (env TESSERA_MEDIA_*, see the README's Security section); the local default destination is always readable */
  policy?: MediaPolicy;
}

const EXTENSION = /^[a-z0-9]{1,10}$/i;

export interface TesseraMediaContext extends MediaContext {
  /** the store serving a URL, for callers that want to stream instead of caching */
  storeFor(url: string): MediaStore;
}

export function createMediaContext(opts: MediaContextOptions = {}): TesseraMediaContext {
  const env = process.env;
  // a local directory is made absolute here, so a relative one means the same after a chdir; URLs stay as they are
  const destination = opts.defaultDestination || env.TESSERA_MEDIA_DESTINATION || '.tessera/media';
  const defaultDestination = isLocal(destination) ? localPathOf(destination) : destination;
  // views read the media views wrote (tiles of frames), so the default destination is a root too
  const basePolicy = opts.policy ?? mediaPolicyFromEnv(env);
  const policy = isLocal(defaultDestination) ? basePolicy.withRoots([defaultDestination]) : basePolicy;
  const storeFor = createMediaStoreResolver(opts.stores, policy);
  const cacheMax = opts.cacheMaxBytes ?? (env.TESSERA_MEDIA_CACHE_MAX_BYTES ? Number(env.TESSERA_MEDIA_CACHE_MAX_BYTES) : 5 * 1024 ** 3);
  if (!Number.isFinite(cacheMax) || cacheMax <= 0) throw new ConfigError(`media cache size must be a positive number of bytes, got ${cacheMax}`);
  // reads of one object at the same time (the lanes of a job, several columns of a row) share one
  // request for its fingerprint; none is reused after it answered, so a change is never missed
  const asking = new Map<string, Promise<string | null>>();
  const fingerprintOf = (store: MediaStore, ref: string): Promise<string | null> => {
    let p = asking.get(ref);
    if (!p) {
      p = store.fingerprint!(ref).finally(() => asking.delete(ref));
      asking.set(ref, p);
    }
    return p;
  };
  const cache = new LocalCache(opts.cacheDir ?? env.TESSERA_MEDIA_CACHE_DIR ?? path.join(os.tmpdir(), 'tessera-media-cache'), cacheMax);

  return {
    defaultDestination,
    storeFor,

    async localPath(ref) {
      if (isLocal(ref)) {
        const file = await policy.resolveLocal(ref);
        const s = await stat(file).catch(() => undefined);
        // a FIFO or a device would block or never end
        if (!s?.isFile()) throw new CellInputError(`media file ${s ? 'is not a regular file' : 'not found'}: ${file}`, { ref: file });
        return file;
      }
      policy.checkRemote(ref);
      const store = storeFor(ref);
      try {
        // the copy of the object's current content: one overwritten under the same URL is fetched again
        const fingerprint = store.fingerprint ? await fingerprintOf(store, ref) : null;
        // http(s) downloads are bounded by the http store itself; object stores by this
        return await cache.get(ref, async () => capBytes(await store.get(ref), policy.maxBytes, ref), fingerprint);
      } catch (e) {
        throw asUnreachable(e);
      }
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

/** Fail a download that grows over `max` bytes with a cell error (TESSERA_MEDIA_MAX_BYTES). */
function capBytes(body: Readable, max: number, ref: string): Readable {
  let bytes = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > max)
        return done(new CellInputError(`cannot read ${redactRef(ref)}: larger than ${max} bytes (TESSERA_MEDIA_MAX_BYTES)`, { ref: redactRef(ref) }));
      done(null, chunk);
    },
  });
  body.once('error', (e) => cap.destroy(e));
  cap.once('close', () => body.destroy());
  return body.pipe(cap);
}

/**
 * A row's media that could not be read for a reason worth retrying is retried with its job, and on
 * the job's last attempt becomes that row's cell error (E_MEDIA_UNREACHABLE): a URL that always
 * resets the connection must not leave its cell pending once the attempts are spent.
 */
function asUnreachable(e: unknown): unknown {
  if (codeOf(e) !== 'E_TRANSIENT') return e;
  const err = e as TransientError;
  return new TransientError(err.message, err.retryAfterMs, 'E_MEDIA_UNREACHABLE');
}
