import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { BulkConsumer, type FastJob } from '../src/ingest/bulk-consumer';
import { REDIS_URL } from '../../../test/support/services';
import { deleteKeys } from '../../../test/support/cleanup';
import { connectRedis } from '../../../test/support/clients';
import { waitFor } from '../../../test/support/wait';

/**
 * The bulk consumer holds about `maxHeldBytes` of job data at once, not `maxHeld` jobs whatever
 * their size: a stream of large jobs (documents sent inline) is taken a few at a time, so a
 * worker's heap stays small and its lock renewals keep running.
 */
const prefix = `tessera-bulk-bytes-${randomBytes(3).toString('hex')}`;
const name = 'ingest';
const redis = connectRedis();

afterAll(async () => {
  await deleteKeys(redis, `${prefix}:*`);
  redis.disconnect();
});

test('jobs of 100 KB under a 1 MB budget are held about ten at a time, and every one completes', async () => {
  const queue = new Queue(name, { connection: redis, prefix });
  const body = 'x'.repeat(100 * 1024);
  await queue.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'insert', data: { i, body } })));
  const held: FastJob[] = [];
  let most = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const consumer = new BulkConsumer({
    redisUrl: REDIS_URL,
    prefix,
    queue: name,
    process: () => Promise.reject(new Error('every job here is taken by `fast`')),
    async fast(job) {
      held.push(job);
      most = Math.max(most, held.length);
      await gate;
      held.splice(held.indexOf(job), 1);
      return { ok: true };
    },
    maxHeld: 1000,
    maxHeldBytes: 1024 * 1024,
    lockMs: 30_000,
  });
  try {
    // the first claim stops within the budget; the next takes one job (a claim always takes one), then none fits
    await waitFor('the consumer to hold what its budget allows', async () => held.length >= 10);
    await new Promise((r) => setTimeout(r, 300)); // the consumer's next claims, if it made any, would show now
    expect(most).toBeLessThanOrEqual(11);
    expect(await queue.getWaitingCount()).toBeGreaterThanOrEqual(50 - 11);
    release();
    await waitFor('every job completed', async () => (await queue.getJobCounts('completed')).completed === 50);
    expect(await queue.getJobCounts('failed', 'active', 'wait')).toEqual({ failed: 0, active: 0, wait: 0 });
    expect(most).toBeLessThanOrEqual(11);
  } finally {
    await consumer.close();
    await queue.close();
  }
});
