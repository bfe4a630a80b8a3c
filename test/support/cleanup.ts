import pg from 'pg';
import { Redis } from 'ioredis';
import type { TesseraConfig } from '@tessera/runtime';

/** Drop a test's schema and delete its Redis keys (by its own prefix only). */
export async function cleanup(cfg: TesseraConfig): Promise<void> {
  const client = new pg.Client({ connectionString: cfg.databaseUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${cfg.schema}" CASCADE`);
  await client.end();
  const redis = new Redis(cfg.redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${cfg.queuePrefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
