import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CellInputError, type MediaStore } from '@tessera/core';
import { joinKey, parseLocation } from '../url';
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
 * (env, profiles, instance roles). A custom endpoint (MinIO, R2, an emulator) usually wants path-style
 * addressing, and checksums only when required, or streamed uploads are stored with aws-chunked framing.
 */
export function s3ConfigFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.TESSERA_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const forcePathStyle = env.TESSERA_S3_FORCE_PATH_STYLE !== undefined ? env.TESSERA_S3_FORCE_PATH_STYLE === 'true' : endpoint !== undefined;
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    forcePathStyle,
  };
}

/** `s3://bucket/prefix` on AWS S3 or any S3-compatible endpoint. Uploads stream, multipart above one part. */
export class S3MediaStore implements MediaStore {
  readonly schemes = ['s3'] as const;
  private readonly client: S3Client;
  private readonly partSize: number;

  constructor(opts: S3StoreOptions = {}) {
    this.client = opts.client ?? new S3Client({ ...s3ConfigFromEnv(), ...opts.config });
    this.partSize = Math.max(opts.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024);
  }

  async put(base: string, key: string, body: Buffer | Readable, opts: { contentType?: string } = {}): Promise<string> {
    const { host: Bucket, path: prefix } = parseLocation(base);
    const Key = joinKey(prefix, key);
    try {
      const upload = new Upload({
        client: this.client,
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
      await this.client.send(new HeadObjectCommand({ Bucket, Key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw asStoreError(err, `HEAD ${url}`);
    }
  }

  async get(url: string): Promise<Readable> {
    const { host: Bucket, path: Key } = parseLocation(url);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket, Key }));
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new CellInputError(`media object not found: ${url}`, { ref: url });
      throw asStoreError(err, `GET ${url}`);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
