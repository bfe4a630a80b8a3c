import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { claimJobs, completeJobs, defineClaimCommands } from '../src/ingest/claim-scripts';
import { REDIS_URL } from '../../../test/support/services';
import { deleteKeys } from '../../../test/support/cleanup';

/**
 * The bulk consumer's claim and complete scripts on real Redis, with the claims of several
 * consumers side by side in the active list (as a fleet makes them): completing a batch of one
 * claim removes exactly its jobs, whichever end of the list the claim sits nearer, leaves every
 * other job where it was, and skips jobs whose lock is no longer ours or that left the list.
 */
const prefix = `tessera-claim-test-${randomBytes(3).toString('hex')}`;
const redis = defineClaimCommands(new Redis(REDIS_URL, { maxRetriesPerRequest: null }));
let queue: Queue;

beforeEach(async () => {
  queue = new Queue(`q${randomBytes(3).toString('hex')}`, { connection: redis, prefix });
});
afterEach(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
});
afterAll(async () => {
  // obliterate leaves the hash of a job a test took out of the lists by hand
  await deleteKeys(redis, `${prefix}:*`);
  redis.disconnect();
});

const keys = () => queue.keys;

async function claim(token: string, max: number): Promise<string[]> {
  const out = await claimJobs(redis, queue, { token, lockMs: 60_000, max, worker: 'test' });
  return out.map((job) => job.id);
}

function complete(token: string, claimed: number, ids: string[]): Promise<string[]> {
  return completeJobs(
    redis,
    queue,
    token,
    claimed,
    ids.map((id) => ({ id, returnvalue: JSON.stringify({ id }), keep: true, attemptsMade: 1 })),
  );
}

const active = () => redis.lrange(keys().active!, 0, -1);

async function addJobs(n: number) {
  await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'insert', data: { i } })));
}

test('completing a batch from a claim in the middle of the active list removes exactly its jobs and keeps the rest in order', async () => {
  await addJobs(120);
  const a = await claim('A', 40);
  const b = await claim('B', 40);
  const c = await claim('C', 40);
  expect([a.length, b.length, c.length]).toEqual([40, 40, 40]);
  const before = await active();

  // B's claim sits between A's (toward the tail) and C's (toward the head); 30 of its 40 complete
  const done = b.slice(5, 35);
  // one of them lost its lock (the stalled check gave it to someone else): it must stay untouched
  const stolen = done[3]!;
  await redis.set(`${queue.toKey('')}${stolen}:lock`, 'someone-else');
  const skipped = await complete('B', 40, done);
  expect(skipped).toEqual([stolen]);

  const removed = new Set(done.filter((id) => id !== stolen));
  expect(await active()).toEqual(before.filter((id) => !removed.has(id)));
  expect((await redis.zrange(keys().completed!, 0, -1)).sort()).toEqual([...removed].sort());
  const job = await queue.getJob(done[0]!);
  expect(job?.returnvalue).toEqual({ id: done[0] });
  expect(job?.finishedOn).toBeGreaterThan(0);
  expect(await redis.exists(`${queue.toKey('')}${done[0]}:lock`)).toBe(0);
});

test('batches near either end, small batches, and jobs that already left the list', async () => {
  await addJobs(90);
  const a = await claim('A', 30);
  const b = await claim('B', 30);
  const c = await claim('C', 30);
  const before = await active();

  // A's claim is at the tail, C's at the head: both go through the marker path (>= 8 jobs)
  const fromA = a.slice(0, 20);
  const fromC = c.slice(10, 30);
  // a job of C's batch left the active list meanwhile (as a stalled job moved back to wait would)
  const left = fromC[0]!;
  await redis.lrem(keys().active!, 1, left);
  expect(await complete('A', 30, fromA)).toEqual([]);
  expect(await complete('C', 30, fromC)).toEqual([left]);
  // a small batch: one LREM per job
  expect(await complete('B', 30, b.slice(0, 2))).toEqual([]);

  const gone = new Set([...fromA, ...fromC, ...b.slice(0, 2)]);
  expect(await active()).toEqual(before.filter((id) => !gone.has(id)));
  expect(await redis.zcard(keys().completed!)).toBe(gone.size - 1);
  expect(await redis.zscore(keys().completed!, left)).toBeNull();
  // no marker is left behind
  expect((await active()).filter((id) => id.startsWith('0:'))).toEqual([]);
});

test('a claim returns each job as BullMQ reads it back: its data byte for byte, and the fields the claim wrote', async () => {
  expect(await claimJobs(redis, queue, { token: 'E', lockMs: 60_000, max: 10, worker: 'test' })).toEqual([]);
  // what a JSON reply could mangle: quotes, backslashes, slashes, control characters, non-ASCII, emoji
  const data = { body: 'say "hi"\\n/path/\t\u0001 Grüße 東京 🎞', n: 1.5, list: [null, true] };
  await queue.add('insert', data, { jobId: 'job/1 "quoted"', attempts: 3 });
  await queue.add('insert', { i: 2 });
  const before = Date.now();
  const claimed = await claimJobs(redis, queue, { token: 'T', lockMs: 60_000, max: 10, worker: 'bulk:test' });
  expect(claimed.map((j) => j.id)).toEqual(['job/1 "quoted"', '2']);
  const [first] = claimed;
  expect(JSON.parse(first!.hash.data!)).toEqual(data);
  expect(first!.hash.name).toBe('insert');
  expect(JSON.parse(first!.hash.opts!)).toMatchObject({ attempts: 3 });
  expect(first!.hash.ats).toBe('1');
  expect(first!.hash.pb).toBe('bulk:test');
  expect(Number(first!.hash.processedOn)).toBeGreaterThanOrEqual(before);
  // the hash in Redis says the same as the reply
  expect(await redis.hgetall(`${queue.toKey('')}${first!.id}`)).toEqual(first!.hash);
  expect(await redis.get(`${queue.toKey('')}${first!.id}:lock`)).toBe('T');
  // nothing left: an empty claim, again as an empty list
  expect(await claimJobs(redis, queue, { token: 'U', lockMs: 60_000, max: 10, worker: 'test' })).toEqual([]);
});

test('a claim takes waiting jobs first, then prioritized ones by priority, as BullMQ moveToActive does', async () => {
  await queue.add('insert', { p: 'low' }, { jobId: 'low', priority: 9 });
  await queue.add('insert', { p: 'none-1' }, { jobId: 'none-1' });
  await queue.add('insert', { p: 'high' }, { jobId: 'high', priority: 1 });
  await queue.add('insert', { p: 'high-later' }, { jobId: 'high-later', priority: 1 });
  await queue.add('insert', { p: 'none-2' }, { jobId: 'none-2' });
  expect(await claim('P', 3)).toEqual(['none-1', 'none-2', 'high']);
  expect(await redis.zrange(keys().prioritized!, 0, -1)).toEqual(['high-later', 'low']);
  expect(await claim('Q', 10)).toEqual(['high-later', 'low']);
  // every claimed job is active and locked; none is left to take, and the priority counter restarts
  expect((await active()).sort()).toEqual(['high', 'high-later', 'low', 'none-1', 'none-2']);
  expect(await redis.get(`${queue.toKey('')}low:lock`)).toBe('Q');
  expect(await queue.getJobState('low')).toBe('active');
  expect(await redis.exists(keys().pc!)).toBe(0);
  expect(await claim('R', 10)).toEqual([]);
});

test('a claim stops at its byte budget but takes one job however large; what it leaves waits in order, waiting jobs then prioritized', async () => {
  const body = 'x'.repeat(2000);
  for (const id of ['w1', 'w2', 'w3', 'w4', 'w5']) await queue.add('insert', { body }, { jobId: id });
  await queue.add('insert', { body }, { jobId: 'p2', priority: 2 });
  await queue.add('insert', { body }, { jobId: 'p1', priority: 1 });
  const size = async (id: string) => Object.values(await redis.hgetall(`${queue.toKey('')}${id}`)).reduce((n, v) => n + Buffer.byteLength(v), 0);
  const one = await size('w1');
  expect(one).toBeGreaterThan(2000);
  const claimBytes = async (token: string, maxBytes: number) =>
    (await claimJobs(redis, queue, { token, lockMs: 60_000, max: 100, worker: 'test', maxBytes })).map((j) => j.id);

  // room for two and a half jobs: two
  expect(await claimBytes('A', Math.floor(one * 2.5))).toEqual(['w1', 'w2']);
  expect(await redis.lrange(keys().wait!, 0, -1)).toEqual(['w5', 'w4', 'w3']);
  // room for less than one: one all the same
  expect(await claimBytes('B', 1)).toEqual(['w3']);
  // a budget that ends among the prioritized jobs leaves the rest of them by priority
  expect(await claimBytes('C', Math.floor(one * 3.5))).toEqual(['w4', 'w5', 'p1']);
  expect(await redis.llen(keys().wait!)).toBe(0);
  expect(await redis.zrange(keys().prioritized!, 0, -1)).toEqual(['p2']);
  expect(await redis.exists(keys().pc!)).toBe(1);
  expect(await claim('D', 100)).toEqual(['p2']);
  expect(await redis.exists(keys().pc!)).toBe(0);
  // every job claimed once, each active and locked by its claim
  expect((await active()).sort()).toEqual(['p1', 'p2', 'w1', 'w2', 'w3', 'w4', 'w5']);
  expect(await redis.get(`${queue.toKey('')}w3:lock`)).toBe('B');
});
