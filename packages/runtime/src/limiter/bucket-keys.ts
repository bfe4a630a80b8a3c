import type { RateKey } from '@tessera/core';

/**
 * Redis keys of one bucket. The `{...}` hash tag keeps a bucket's keys in one cluster slot so its
 * scripts stay atomic on Redis Cluster too.
 */
export function bucketKeys(prefix: string, key: RateKey): { bucket: string; inflight: string } {
  const tag = `{${key.provider}:${key.model}:${key.keyHash ?? '-'}}`;
  return { bucket: `${prefix}${tag}`, inflight: `${prefix}${tag}:inflight` };
}
