import { rm } from 'node:fs/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { TesseraConfig } from '@tessera/runtime';

/** Drop a test's schema, delete its Redis keys (by its own prefix only) and its media directories. */
export async function cleanup(cfg: TesseraConfig): Promise<void> {
  await dropSchema(cfg.databaseUrl, cfg.schema);
  await deleteQueueKeys(cfg);
  // testConfig puts the media destination and cache under /tmp/tessera-test-<id>
  const own = /^(\/tmp\/tessera-test-[0-9a-f]+)\//.exec(cfg.mediaDestination)?.[1];
  if (own) await rm(own, { recursive: true, force: true });
}

/** Delete every Redis key of the test's prefix: its queues, as a Redis that lost its data would have them. */
export async function deleteQueueKeys(cfg: TesseraConfig): Promise<void> {
  const redis = new Redis(cfg.redisUrl);
  try {
    await deleteKeys(redis, `${cfg.queuePrefix}:*`);
  } finally {
    redis.disconnect();
  }
}

/** Drop a Postgres schema and all in it, if it is there. */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Delete the Redis keys matching a pattern (a test's own prefix: never FLUSHDB the shared Redis). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}
