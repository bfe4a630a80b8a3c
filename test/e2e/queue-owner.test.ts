import { Redis } from 'ioredis';
import { ConfigError } from '@tessera/core';
import { Engine } from '@tessera/runtime';
import { testConfig } from '../support/env';
import { cleanup, dropSchema } from '../support/cleanup';
import { spawnWorker } from '../support/worker-process';

/**
 * Jobs name their pipeline and table, not their record: two records (schemas or databases) on one
 * queue prefix would mix their work, one's producer rows landing in the other. A prefix is bound to
 * the first record that uses it; another record's engine, CLI or worker is refused at start with
 * what to do, and the record that owns it keeps working.
 */
test('a queue prefix serves one record: a second record on it is refused at start, the first keeps it', async () => {
  const first = testConfig();
  const second = testConfig({ TESSERA_QUEUE_PREFIX: first.queuePrefix }); // another schema, the same prefix
  expect(second.schema).not.toBe(first.schema);
  const owner = await Engine.connect(first);
  try {
    const refused = await Engine.connect(second).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toContain(`queue prefix "${first.queuePrefix}"`);
    expect((refused as Error).message).toContain(`schema "${first.schema}"`);
    expect((refused as Error).message).toContain(`${first.queuePrefix}:record`);

    // a worker process of the second record does not start
    const worker = await spawnWorker(second.env, [], 120_000).catch((e: Error) => e);
    expect(worker).toBeInstanceOf(Error);
    expect((worker as Error).message).toMatch(/serves another Tessera record/);

    // the owner's own engines (a CLI, a second worker) connect as before
    const again = await Engine.connect(first);
    await again.close();
    await owner.renewQueueClaim();

    // the owner's record dropped and made again in the same schema (a reset): the new one takes the prefix
    await dropSchema(first.databaseUrl, first.schema);
    const reset = await Engine.connect(first);
    await reset.close();
    // (an engine still on the old one works on the same schema by name: it may renew too)
    await owner.renewQueueClaim();

    // once the claim is gone (it lapses an hour after the owner's last worker), the prefix is free
    const redis = new Redis(first.redisUrl);
    await redis.del(`${first.queuePrefix}:record`);
    redis.disconnect();
    const now = await Engine.connect(second);
    await now.close();
    await expect(owner.renewQueueClaim()).rejects.toThrow(ConfigError);
  } finally {
    await owner.close();
    await cleanup(first);
    await cleanup(second);
  }
}, 180_000);
