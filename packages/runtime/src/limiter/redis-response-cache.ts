import type { Redis } from 'ioredis';

/**
 * Model responses by call key (model + parameters + input content hash), in Redis. It has the
 * shape of @tessera/functions' ResponseCache; values are JSON. Losing it only costs repeated calls.
 */
export class RedisResponseCache {
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  constructor(
    private readonly redis: Redis,
    opts: { prefix?: string; ttlSeconds?: number } = {},
  ) {
    this.prefix = opts.prefix ?? 'tessera:cache:';
    this.ttlSeconds = opts.ttlSeconds ?? 30 * 24 * 3600;
  }

  async get(key: string): Promise<unknown | undefined> {
    const v = await this.redis.get(this.prefix + key);
    return v === null ? undefined : JSON.parse(v);
  }

  async getMany(keys: string[]): Promise<Array<unknown | undefined>> {
    if (keys.length === 0) return [];
    const vs = await this.redis.mget(keys.map((k) => this.prefix + k));
    return vs.map((v) => (v === null ? undefined : JSON.parse(v)));
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.redis.set(this.prefix + key, JSON.stringify(value), 'EX', this.ttlSeconds);
  }

  async setMany(entries: Array<[string, unknown]>): Promise<void> {
    if (entries.length === 0) return;
    const m = this.redis.multi();
    for (const [k, v] of entries) m.set(this.prefix + k, JSON.stringify(v), 'EX', this.ttlSeconds);
    await m.exec();
  }
}
