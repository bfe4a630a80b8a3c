import { Readable } from 'node:stream';
import { CellInputError, ConfigError, TransientError, type MediaStore } from '@tessera/core';
import { asStoreError } from './transient';

/** Read-only media over http(s): input media can be any URL the worker can reach. */
export class HttpMediaStore implements MediaStore {
  readonly schemes = ['http', 'https'] as const;

  async put(base: string): Promise<string> {
    throw new ConfigError(`cannot write media to ${base}: http(s) destinations are read-only; use file://, s3://, gs:// or az://`);
  }

  async exists(url: string): Promise<boolean> {
    const res = await this.request(url, 'HEAD');
    return res.ok;
  }

  async get(url: string): Promise<Readable> {
    const res = await this.request(url, 'GET');
    if (!res.ok || !res.body) throw new CellInputError(`cannot read ${withoutQuery(url)}: HTTP ${res.status}`, { ref: withoutQuery(url), status: res.status });
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }

  private async request(url: string, method: 'GET' | 'HEAD'): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { method, redirect: 'follow' });
    } catch (err) {
      throw asStoreError(err, `${method} ${withoutQuery(url)}`);
    }
    if (res.status === 429 || res.status >= 500) {
      const ra = Number(res.headers.get('retry-after'));
      await res.body?.cancel();
      throw new TransientError(`${method} ${withoutQuery(url)}: HTTP ${res.status}`, Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined);
    }
    return res;
  }
}

/** Presigned URLs carry credentials in the query string: messages and logs get the URL without it. */
function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}
