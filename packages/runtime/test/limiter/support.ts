import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix of its own per test, so tests share the Redis other agents use without touching their keys. */
export const testPrefix = () => `tessera:test:rl:${randomUUID().slice(0, 8)}:`;

export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

export const newRedis = () => new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
