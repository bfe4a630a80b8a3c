import type { Readable } from 'node:stream';
import type { BlobServiceClient, StorageSharedKeyCredential, ContainerClient, StoragePipelineOptions } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/core-auth';
import { CellInputError, type ListedObject, type MediaStore } from '@tessera/core';
import { joinKey } from '../url';
import { azureSdk } from '../sdk/modules';
import { asStoreError } from './transient';

export interface AzureStoreOptions {
  /** defaults to AZURE_STORAGE_CONNECTION_STRING */
  connectionString?: string;
  /** e.g. DefaultAzureCredential from @azure/identity, for managed identity */
  credential?: TokenCredential | StorageSharedKeyCredential;
  blockSize?: number;
  /** client pipeline options, e.g. { retryOptions: { maxTries: 1 } } when the queue should own retries */
  clientOptions?: StoragePipelineOptions;
}

interface BlobLocation {
  account: string;
  container: string;
  name: string;
}

/** `az://account/container/prefix` or `https://account.blob.core.windows.net/container/prefix`. */
export function parseAzureUrl(ref: string): BlobLocation {
  const u = new URL(ref);
  const parts = decodeURIComponent(u.pathname).replace(/^\/+/, '').split('/');
  const account = u.protocol === 'az:' ? u.host : u.hostname.split('.')[0]!;
  const container = parts.shift() ?? '';
  return { account, container, name: parts.join('/').replace(/\/+$/, '') };
}

export const isAzureHttpsUrl = (ref: string): boolean => /^https:\/\/[^/]+\.blob\.core\.windows\.net\//i.test(ref);

/**
 * Azure Blob Storage. Credentials: a connection string (env AZURE_STORAGE_CONNECTION_STRING, which also
 * points at Azurite), AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY, a token credential passed in, or anonymous.
 * Streams are uploaded as staged blocks.
 */
export class AzureMediaStore implements MediaStore {
  readonly schemes = ['az'] as const;
  private readonly clients = new Map<string, BlobServiceClient>();
  private fromConnectionString?: BlobServiceClient | null;
  private readonly blockSize: number;

  constructor(private readonly opts: AzureStoreOptions = {}) {
    this.blockSize = opts.blockSize ?? 8 * 1024 * 1024;
  }

  /** The SDK is imported, and clients built from the environment, on first use. */
  private async service(account: string): Promise<BlobServiceClient> {
    const sdk = await azureSdk();
    if (this.fromConnectionString === undefined) {
      const cs = this.opts.connectionString ?? process.env.AZURE_STORAGE_CONNECTION_STRING;
      this.fromConnectionString = cs ? sdk.BlobServiceClient.fromConnectionString(cs, this.opts.clientOptions) : null;
    }
    if (this.fromConnectionString?.accountName === account) return this.fromConnectionString;
    let client = this.clients.get(account);
    if (!client) {
      const url = `https://${account}.blob.core.windows.net`;
      const key = process.env.AZURE_STORAGE_KEY;
      const credential =
        this.opts.credential ?? (key && process.env.AZURE_STORAGE_ACCOUNT === account ? new sdk.StorageSharedKeyCredential(account, key) : undefined);
      client = new sdk.BlobServiceClient(url, credential, this.opts.clientOptions);
      this.clients.set(account, client);
    }
    return client;
  }

  private async container(loc: BlobLocation): Promise<ContainerClient> {
    return (await this.service(loc.account)).getContainerClient(loc.container);
  }

  async put(base: string, key: string, body: Buffer | Readable, opts: { contentType?: string } = {}): Promise<string> {
    const loc = parseAzureUrl(base);
    const name = joinKey(loc.name, key);
    const headers = opts.contentType ? { blobHTTPHeaders: { blobContentType: opts.contentType } } : {};
    try {
      const blob = (await this.container(loc)).getBlockBlobClient(name);
      if (Buffer.isBuffer(body)) await blob.uploadData(body, { blockSize: this.blockSize, ...headers });
      else await blob.uploadStream(body, this.blockSize, 4, headers);
    } catch (err) {
      throw asStoreError(err, `upload to az://${loc.account}/${loc.container}/${name}`);
    }
    return `az://${loc.account}/${loc.container}/${name}`;
  }

  async exists(url: string): Promise<boolean> {
    const loc = parseAzureUrl(url);
    try {
      return await (await this.container(loc)).getBlobClient(loc.name).exists();
    } catch (err) {
      throw asStoreError(err, `exists ${url}`);
    }
  }

  async *list(prefix: string, opts: { pageSize: number; startAfter?: string }): AsyncIterable<ListedObject[]> {
    const loc = parseAzureUrl(prefix);
    const base = loc.name ? `${loc.name}/` : '';
    let pages;
    try {
      pages = (await this.container(loc)).listBlobsFlat({ prefix: base }).byPage({ maxPageSize: opts.pageSize });
    } catch (err) {
      throw asStoreError(err, `list az://${loc.account}/${loc.container}/${base}`);
    }
    // Azure cannot start a listing after a key: earlier keys are listed and passed over
    for (;;) {
      let page;
      try {
        page = await pages.next();
      } catch (err) {
        throw asStoreError(err, `list az://${loc.account}/${loc.container}/${base}`);
      }
      if (page.done) return;
      const objects = page.value.segment.blobItems
        .filter((b) => !b.name.endsWith('/') && (!opts.startAfter || b.name.slice(base.length) > opts.startAfter))
        .map((b) => ({
          key: b.name.slice(base.length),
          url: `az://${loc.account}/${loc.container}/${b.name}`,
          size: b.properties.contentLength ?? 0,
          modified: b.properties.lastModified ?? null,
          fingerprint: `etag:${b.properties.etag ?? ''}:${b.properties.contentLength ?? 0}`,
        }));
      if (objects.length) yield objects;
    }
  }

  async fingerprint(url: string): Promise<string> {
    const loc = parseAzureUrl(url);
    try {
      const p = await (await this.container(loc)).getBlobClient(loc.name).getProperties();
      return `etag:${p.etag ?? ''}:${p.contentLength ?? 0}`;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new CellInputError(`media object not found: ${url}`, { ref: url });
      throw asStoreError(err, `properties of ${url}`);
    }
  }

  async get(url: string): Promise<Readable> {
    const loc = parseAzureUrl(url);
    try {
      const res = await (await this.container(loc)).getBlobClient(loc.name).download();
      return res.readableStreamBody as Readable;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new CellInputError(`media object not found: ${url}`, { ref: url });
      throw asStoreError(err, `GET ${url}`);
    }
  }
}
