import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Storage, StorageOptions } from '@google-cloud/storage';
import { CellInputError, type ListedObject, type MediaStore } from '@tessera/core';
import { joinKey, parseLocation } from '../url';
import { gcsSdk } from '../sdk/modules';
import { asStoreError } from './transient';

export interface GcsStoreOptions {
  storage?: Storage;
  /** e.g. { apiEndpoint: 'http://127.0.0.1:4443' } for an emulator; credentials come from ADC by default */
  config?: StorageOptions;
  /** objects above this size use a resumable upload */
  resumableAbove?: number;
}

/**
 * Settings from the environment beyond what the client library reads itself (it reads
 * STORAGE_EMULATOR_HOST for an emulator, GOOGLE_CLOUD_PROJECT and Application Default Credentials):
 * an emulator needs some project id, so one is supplied when none is set.
 */
export function gcsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StorageOptions {
  return env.STORAGE_EMULATOR_HOST && !env.GOOGLE_CLOUD_PROJECT && !env.GCLOUD_PROJECT ? { projectId: 'tessera' } : {};
}

/** `gs://bucket/prefix` on Google Cloud Storage. */
export class GcsMediaStore implements MediaStore {
  readonly schemes = ['gs'] as const;
  private storage?: Storage;
  private readonly resumableAbove: number;

  constructor(private readonly opts: GcsStoreOptions = {}) {
    this.storage = opts.storage;
    this.resumableAbove = opts.resumableAbove ?? 8 * 1024 * 1024;
  }

  /** The client library is imported, and the client built, on first use. */
  private async file(url: string) {
    this.storage ??= new (await gcsSdk()).Storage({ ...gcsConfigFromEnv(), ...this.opts.config });
    const { host, path } = parseLocation(url);
    return this.storage.bucket(host).file(path);
  }

  async put(base: string, key: string, body: Buffer | Readable, opts: { contentType?: string; size?: number } = {}): Promise<string> {
    const { host, path: prefix } = parseLocation(base);
    const url = `gs://${host}/${joinKey(prefix, key)}`;
    const file = await this.file(url);
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
      const [found] = await (await this.file(url)).exists();
      return found;
    } catch (err) {
      throw asStoreError(err, `exists ${url}`);
    }
  }

  async *list(prefix: string, opts: { pageSize: number; startAfter?: string }): AsyncIterable<ListedObject[]> {
    const { host, path } = parseLocation(prefix);
    const base = path ? `${path}/` : '';
    this.storage ??= new (await gcsSdk()).Storage({ ...gcsConfigFromEnv(), ...this.opts.config });
    const bucket = this.storage.bucket(host);
    let pageToken: string | undefined;
    do {
      let files, next;
      try {
        // startOffset is inclusive: the key itself is filtered out below
        [files, next] = await bucket.getFiles({
          prefix: base,
          maxResults: opts.pageSize,
          autoPaginate: false,
          ...(pageToken ? { pageToken } : opts.startAfter ? { startOffset: base + opts.startAfter } : {}),
        });
      } catch (err) {
        throw asStoreError(err, `list gs://${host}/${base}`);
      }
      const objects = files
        .filter((f) => !f.name.endsWith('/') && (!opts.startAfter || f.name.slice(base.length) > opts.startAfter))
        .map((f) => ({
          key: f.name.slice(base.length),
          url: `gs://${host}/${f.name}`,
          size: Number(f.metadata.size ?? 0),
          modified: f.metadata.updated ? new Date(f.metadata.updated) : null,
          fingerprint: `generation:${f.metadata.generation ?? ''}:${f.metadata.size ?? ''}`,
        }));
      if (objects.length) yield objects;
      pageToken = (next as { pageToken?: string } | null)?.pageToken;
    } while (pageToken);
  }

  async fingerprint(url: string): Promise<string> {
    let metadata;
    try {
      [metadata] = await (await this.file(url)).getMetadata();
    } catch (err) {
      if ((err as { code?: number }).code === 404) throw new CellInputError(`media object not found: ${url}`, { ref: url });
      throw asStoreError(err, `metadata of ${url}`);
    }
    return `generation:${metadata.generation ?? ''}:${metadata.size ?? ''}`;
  }

  async get(url: string): Promise<Readable> {
    if (!(await this.exists(url))) throw new CellInputError(`media object not found: ${url}`, { ref: url });
    return (await this.file(url)).createReadStream();
  }
}
