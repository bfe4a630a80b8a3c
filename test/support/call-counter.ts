import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL } from './services';

/**
 * UDF calls counted in a Redis hash, so a test can prove which cells were computed, and how many
 * times, across worker processes. The test pipelines count (`countCall`) into the hash named by
 * TESSERA_TEST_COUNTER, read when called: a test may set it after importing the pipeline module.
 */
let writer: Redis | undefined;

/** Add `n` calls of `udf` to the hash (`key`, or TESSERA_TEST_COUNTER); nothing when neither names one. */
export async function countCall(udf: string, n = 1, key = process.env.TESSERA_TEST_COUNTER): Promise<number | undefined> {
  if (!key || n <= 0) return undefined;
  // the worker's own Redis (a test may run workers on a Redis of its own), else the shared one
  writer ??= new Redis(process.env.TESSERA_REDIS_URL ?? REDIS_URL, { lazyConnect: true });
  return writer.hincrby(key, udf, n);
}

/** The calls made between two readings, leaving out the UDFs that made none. */
export function callDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.keys({ ...before, ...after })
      .map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );
}

export interface CallCounter {
  /** the hash's name: give it to workers as TESSERA_TEST_COUNTER */
  readonly key: string;
  /** calls so far, by UDF */
  counts(): Promise<Record<string, number>>;
  /** delete the hash */
  close(): Promise<void>;
}

/**
 * A counter hash of the test's own on the given Redis (by default the shared one). With
 * `setEnv`, TESSERA_TEST_COUNTER names it in this process, for in-process workers.
 */
export function callCounter(opts: { key?: string; redisUrl?: string; setEnv?: boolean } = {}): CallCounter {
  const key = opts.key ?? `tessera-test-counter:${randomBytes(6).toString('hex')}`;
  if (opts.setEnv) process.env.TESSERA_TEST_COUNTER = key;
  // a connection per reading: a counter left unclosed holds nothing open
  const withRedis = async <T>(fn: (r: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis(opts.redisUrl ?? REDIS_URL);
    try {
      return await fn(redis);
    } finally {
      redis.disconnect();
    }
  };
  return {
    key,
    counts: () => withRedis(async (r) => Object.fromEntries(Object.entries(await r.hgetall(key)).map(([k, v]) => [k, Number(v)]))),
    close: () => withRedis(async (r) => void (await r.del(key))),
  };
}
