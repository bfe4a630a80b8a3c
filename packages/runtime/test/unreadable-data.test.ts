import { randomBytes } from 'node:crypto';
import { Job, Queue, type JobJson } from 'bullmq';
import { Redis } from 'ioredis';
import { ReadingWorker, buildJob, unreadableData } from '../src/jobs/unreadable-data';
import { REDIS_URL } from '../../../test/support/services';
import { deleteKeys } from '../../../test/support/cleanup';
import { waitFor } from '../../../test/support/wait';

/**
 * A job whose data is not JSON (stored by something other than a BullMQ producer) on real Redis:
 * the regular Worker (ReadingWorker) fails it on its first attempt with that reason, without
 * running the processor, and goes on with the jobs after it.
 */
const prefix = `tessera-unreadable-test-${randomBytes(3).toString('hex')}`;
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
let queue: Queue;

beforeEach(() => {
  queue = new Queue(`q${randomBytes(3).toString('hex')}`, { connection: redis, prefix });
});
afterEach(async () => {
  await queue.close();
});
afterAll(async () => {
  // the queue's own calls cannot read the unreadable job back: its keys go by pattern
  await deleteKeys(redis, `${prefix}:*`);
  redis.disconnect();
});

test('the regular Worker fails a job whose data is not JSON at once, with that reason, and runs the others', async () => {
  const [before, bad, after] = await queue.addBulk(['before', 'bad', 'after'].map((name) => ({ name, data: { name }, opts: { attempts: 5 } })));
  await redis.hset(queue.toKey(bad!.id!), 'data', 'not json');
  const ran: string[] = [];
  const worker = new ReadingWorker(
    queue.name,
    async (job) => {
      ran.push(job.data.name);
      return job.data.name;
    },
    { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix },
  );
  try {
    await waitFor('every job to finish', async () => (await queue.getJobCounts('completed', 'failed')).completed === 2 && (await queue.getFailedCount()) === 1);
  } finally {
    await worker.close();
  }
  expect(ran.sort()).toEqual(['after', 'before']);
  expect(await Promise.all([before, after].map((j) => queue.getJobState(j!.id!)))).toEqual(['completed', 'completed']);
  const [reason, attemptsMade] = await redis.hmget(queue.toKey(bad!.id!), 'failedReason', 'atm');
  expect(reason).toMatch(new RegExp(`^job ${bad!.id}: its data is not valid JSON \\(.*\\bjson\\b.*\\); BullMQ producers send job data as JSON$`, 'i'));
  expect(attemptsMade).toBe('1'); // unrecoverable: none of its 5 attempts spent again
});

test('buildJob: readable data builds the job as given; only data that is not JSON is replaced, other errors are thrown', () => {
  const json = { id: '7', name: 'n', data: '{"a":1}', opts: {}, timestamp: 1, progress: 0 } as unknown as JobJson;
  const ok = buildJob(json, (j) => Job.fromJSON(queue, j, '7'));
  expect([ok.data, unreadableData(ok)]).toEqual([{ a: 1 }, undefined]);

  const bad = buildJob({ ...json, data: '{"a":' }, (j) => Job.fromJSON(queue, j, '7'));
  expect(bad.data).toEqual({});
  expect(unreadableData(bad)?.message).toMatch(/^job 7: its data is not valid JSON/);

  const other = new Error('something else');
  expect(() =>
    buildJob(json, () => {
      throw other;
    }),
  ).toThrow(other);
});
