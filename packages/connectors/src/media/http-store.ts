import type { Readable } from 'node:stream';
import { CellInputError, ConfigError, TransientError, type MediaStore } from '@tessera/core';
import { openHttpMedia } from './http-fetch';
import { mediaPolicyFromEnv, type MediaPolicy } from './policy';
import { redactRef } from './redact';

/**
 * Read-only media over http(s), under the media policy (hosts, addresses of every connection and
 * redirect, size and time limits); by default the policy from the environment.
 */
export class HttpMediaStore implements MediaStore {
  readonly schemes = ['http', 'https'] as const;
  private policy?: MediaPolicy;

  constructor(policy?: MediaPolicy) {
    this.policy = policy;
  }

  async put(base: string): Promise<string> {
    throw new ConfigError(`cannot write media to ${redactRef(base)}: http(s) destinations are read-only; use file://, s3://, gs:// or az://`);
  }

  async exists(url: string): Promise<boolean> {
    const res = await this.open(url, 'HEAD');
    res.body.destroy();
    return res.status >= 200 && res.status < 300;
  }

  /** From a HEAD: the ETag or Last-Modified; null when the server sends neither or does not answer HEAD. */
  async fingerprint(url: string): Promise<string | null> {
    const res = await this.open(url, 'HEAD');
    res.body.destroy();
    if (res.status === 404 || res.status === 410)
      throw new CellInputError(`cannot read ${redactRef(url)}: HTTP ${res.status}`, { ref: redactRef(url), status: res.status });
    return res.status >= 200 && res.status < 300 ? (res.validator ?? null) : null;
  }

  async get(url: string): Promise<Readable> {
    const res = await this.open(url, 'GET');
    if (res.status < 200 || res.status >= 300) {
      res.body.destroy();
      throw new CellInputError(`cannot read ${redactRef(url)}: HTTP ${res.status}`, { ref: redactRef(url), status: res.status });
    }
    return res.body;
  }

  private async open(url: string, method: 'GET' | 'HEAD') {
    this.policy ??= mediaPolicyFromEnv();
    const res = await openHttpMedia(url, method, this.policy);
    if (res.status === 429 || res.status >= 500) {
      res.body.destroy();
      throw new TransientError(`${method} ${redactRef(url)}: HTTP ${res.status}`, res.retryAfterMs);
    }
    return res;
  }
}
