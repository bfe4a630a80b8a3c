import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage, type StorageOptions } from '@google-cloud/storage';
import { CellInputError, type MediaStore } from '@tessera/core';
import { joinKey, parseLocation } from '../url';
import { asStoreError } from './transient';

export interface GcsStoreOptions {
  storage?: Storage;
  /** e.g. { apiEndpoint: 'http://127.0.0.1:4443' } for an emulator; credentials come from ADC by default */
  config?: StorageOptions;
  /** objects above this size use a resumable upload */
  resumableAbove?: number;
}

/** Settings from the environment: TESSERA_GCS_ENDPOINT for an emulator or a private endpoint. */
export function gcsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StorageOptions {
  const apiEndpoint = env.TESSERA_GCS_ENDPOINT;
  return apiEndpoint ? { apiEndpoint, ...(env.GOOGLE_CLOUD_PROJECT ? {} : { projectId: 'tessera' }) } : {};
}

/** `gs://bucket/prefix` on Google Cloud Storage. */
export class GcsMediaStore implements MediaStore {
  readonly schemes = ['gs'] as const;
  private readonly storage: Storage;
  private readonly resumableAbove: number;

  constructor(opts: GcsStoreOptions = {}) {
    this.storage = opts.storage ?? new Storage({ ...gcsConfigFromEnv(), ...opts.config });
    this.resumableAbove = opts.resumableAbove ?? 8 * 1024 * 1024;
  }

  private file(url: string) {
    const { host, path } = parseLocation(url);
    return this.storage.bucket(host).file(path);
  }

  async put(base: string, key: string, body: Buffer | Readable, opts: { contentType?: string; size?: number } = {}): Promise<string> {
    const { host, path: prefix } = parseLocation(base);
    const url = `gs://${host}/${joinKey(prefix, key)}`;
    const file = this.file(url);
    const size = Buffer.isBuffer(body) ? body.length : opts.size;
    const resumable = size === undefined || size > this.resumableAbove;
    const options = { resumable, ...(opts.contentType ? { contentType: opts.contentType } : {}) };
    try {
      if (Buffer.isBuffer(body)) await file.save(body, options);
      else await pipeline(body, file.createWriteStream(options));
    } catch (err) {
      throw asStoreError(err, `upload to ${url}`);
    }
    return url;
  }

  async exists(url: string): Promise<boolean> {
    try {
      const [found] = await this.file(url).exists();
      return found;
    } catch (err) {
      throw asStoreError(err, `exists ${url}`);
    }
  }

  async get(url: string): Promise<Readable> {
    if (!(await this.exists(url))) throw new CellInputError(`media object not found: ${url}`, { ref: url });
    return this.file(url).createReadStream();
  }
}
