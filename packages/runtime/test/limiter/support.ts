import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../../../../test/support/services';
import { deleteKeys } from '../../../../test/support/cleanup';

export { REDIS_URL };

/** A key prefix of its own per test, so tests share the Redis other agents use without touching their keys. */
export const testPrefix = () => `tessera:test:rl:${randomUUID().slice(0, 8)}:`;

export const deletePrefix = (redis: Redis, prefix: string): Promise<void> => deleteKeys(redis, `${prefix}*`);

export const newRedis = () => new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
