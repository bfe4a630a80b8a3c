import { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { CellInputError, type ListedObject, type MediaStore } from '@tessera/core';
import { joinKey, parseLocation } from '../url';
import { s3Sdk } from '../sdk/modules';
import { asStoreError } from './transient';

export interface S3StoreOptions {
  /** a ready client; otherwise one is built from `config` and the environment */
  client?: S3Client;
  config?: S3ClientConfig;
  /** multipart part size in bytes (S3 minimum 5 MiB) */
  partSize?: number;
}

/**
 * Client settings from the environment. Credentials and region come from the SDK's own chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance and task roles). A custom endpoint
 * (MinIO, R2, an emulator) is the SDK's standard AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL; with one,
 * path-style addressing is turned on (TESSERA_S3_FORCE_PATH_STYLE=false to keep virtual hosts) and
 * checksums are only sent when required, unless AWS_REQUEST_CHECKSUM_CALCULATION says otherwise:
 * S3-compatible servers that do not know the newer checksums store streamed uploads with their
 * aws-chunked framing inside.
 */
export function s3ConfigFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const forcePathStyle = env.TESSERA_S3_FORCE_PATH_STYLE !== undefined ? env.TESSERA_S3_FORCE_PATH_STYLE === 'true' : endpoint !== undefined;
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(endpoint && !env.AWS_REQUEST_CHECKSUM_CALCULATION ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
    ...(endpoint && !env.AWS_RESPONSE_CHECKSUM_VALIDATION ? { responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
    forcePathStyle,
  };
}

/** `s3://bucket/prefix` on AWS S3 or any S3-compatible endpoint. Uploads stream, multipart above one part. */
export class S3MediaStore implements MediaStore {
  readonly schemes = ['s3'] as const;
  private client?: S3Client;
  private readonly partSize: number;

  constructor(private readonly opts: S3StoreOptions = {}) {
    this.client = opts.client;
    this.partSize = Math.max(opts.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024);
  }

  /** The SDK is imported, and the client built from the environment, on first use. */
  private async sdk() {
    const sdk = await s3Sdk();
    this.client ??= new sdk.S3Client({ ...s3ConfigFromEnv(), ...this.opts.config });
    return { sdk, client: this.client };
  }

  async put(base: string, key: string, body: Buffer | Readable, opts: { contentType?: string } = {}): Promise<string> {
    const { host: Bucket, path: prefix } = parseLocation(base);
    const Key = joinKey(prefix, key);
    try {
      const { sdk, client } = await this.sdk();
      const upload = new sdk.Upload({
        client,
        params: { Bucket, Key, Body: body, ...(opts.contentType ? { ContentType: opts.contentType } : {}) },
        partSize: this.partSize,
        queueSize: 4,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      throw asStoreError(err, `upload to s3://${Bucket}/${Key}`);
    }
    return `s3://${Bucket}/${Key}`;
  }

  async exists(url: string): Promise<boolean> {
    const { host: Bucket, path: Key } = parseLocation(url);
    try {
      const { sdk, client } = await this.sdk();
      await client.send(new sdk.HeadObjectCommand({ Bucket, Key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw asStoreError(err, `HEAD ${url}`);
    }
  }

  async fingerprint(url: string): Promise<string> {
    const { host: Bucket, path: Key } = parseLocation(url);
    try {
      const { sdk, client } = await this.sdk();
      const head = await client.send(new sdk.HeadObjectCommand({ Bucket, Key }));
      return `etag:${head.ETag ?? ''}:${head.ContentLength ?? 0}`;
    } catch (err) {
      if (isNotFound(err)) throw new CellInputError(`media object not found: ${url}`, { ref: url });
      throw asStoreError(err, `HEAD ${url}`);
    }
  }

  async get(url: string): Promise<Readable> {
    const { host: Bucket, path: Key } = parseLocation(url);
    try {
      const { sdk, client } = await this.sdk();
      const res = await client.send(new sdk.GetObjectCommand({ Bucket, Key }));
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new CellInputError(`media object not found: ${url}`, { ref: url });
      throw asStoreError(err, `GET ${url}`);
    }
  }

  /**
   * Listed with ListObjects (v1) and the last key as the marker: every S3-compatible server has it,
   * and a key is a resumable position (s3rver fails V2 listings that are truncated).
   */
  async *list(prefix: string, opts: { pageSize: number; startAfter?: string }): AsyncIterable<ListedObject[]> {
    const { host: Bucket, path } = parseLocation(prefix);
    const Prefix = path ? `${path}/` : '';
    let Marker = opts.startAfter ? Prefix + opts.startAfter : undefined;
    for (;;) {
      let page;
      try {
        const { sdk, client } = await this.sdk();
        page = await client.send(new sdk.ListObjectsCommand({ Bucket, Prefix, MaxKeys: opts.pageSize, ...(Marker ? { Marker } : {}) }));
      } catch (err) {
        throw asStoreError(err, `list s3://${Bucket}/${Prefix}`);
      }
      const contents = page.Contents ?? [];
      const objects = contents
        .filter((o) => o.Key && !o.Key.endsWith('/'))
        .map((o) => ({
          key: o.Key!.slice(Prefix.length),
          url: `s3://${Bucket}/${o.Key}`,
          size: o.Size ?? 0,
          modified: o.LastModified ?? null,
          fingerprint: `etag:${o.ETag ?? ''}:${o.Size ?? 0}`,
        }));
      if (objects.length) yield objects;
      if (!page.IsTruncated || !contents.length) return;
      Marker = contents.at(-1)!.Key!;
    }
  }

  destroy(): void {
    this.client?.destroy();
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
