import path from 'node:path';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { QueueEvents, type Job, type JobsOptions, type Queue } from 'bullmq';
import { startHarness, type Harness } from '../support/harness';
import { PG_URL } from '../support/services';
import { connectPg, connectRedis } from '../support/clients';
import { holdCommits, type HeldCommits } from '../support/held-commits';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { uniqueName } from '../support/names';
import { waitFor } from '../support/wait';

/**
 * The bulk ingest consumer (packages/runtime/src/ingest/bulk-consumer.ts) at its edges, with real
 * Redis and Postgres: retries, bad rows, a paused queue, delayed and prioritized jobs, queue-wide
 * limits, a killed process. It claims ingest jobs beside the queue's regular BullMQ Worker; to make sure a batch is
 * the bulk consumer's, the regular Worker runs one ingest job at a time (TESSERA_CONCURRENCY
 * ingest=1) and is given one it cannot finish while the record's commits are held (see
 * occupyRegularWorker). Jobs claimed by the bulk consumer carry `processedBy` = `bulk:<id>`.
 */
const PIPELINE = path.resolve(import.meta.dirname, '../../bench/pipelines/stream-bench');
const exportSchema = uniqueName('bulk');
const WORKER_ENV = {
  TESSERA_CONCURRENCY: 'ingest=1',
  TESSERA_INGEST_WINDOW_MS: '200',
  TESSERA_STREAM_EXPORT_SCHEMA: exportSchema,
  TESSERA_STREAM_EXPORT_URL: PG_URL,
};
/** what a producer that wants retries sends */
const RETRIES: JobsOptions = { attempts: 5, backoff: { type: 'fixed', delay: 1000 } };
/** plugs may be refused each time they come back while a test makes the record refuse commits */
const PLUG_RETRIES: JobsOptions = { attempts: 100, backoff: { type: 'fixed', delay: 1000 } };

let h: Harness;
let q: Queue;
let redis: Redis;
let db: pg.Client;
let events: QueueEvents;

beforeAll(async () => {
  process.env.TESSERA_STREAM_EXPORT_SCHEMA = exportSchema;
  process.env.TESSERA_STREAM_EXPORT_URL = PG_URL;
  h = await startHarness(PIPELINE, WORKER_ENV);
  await h.engine.apply(h.def);
  await h.startWorkers();
  q = h.engine.ingestQueue();
  redis = connectRedis(h.cfg.redisUrl);
  db = await connectPg();
  events = new QueueEvents('ingest', { connection: connectRedis(h.cfg.redisUrl, { maxRetriesPerRequest: null }), prefix: h.cfg.queuePrefix });
  await events.waitUntilReady();
});
afterAll(async () => {
  await events?.close();
  redis?.disconnect();
  await db?.query(`DROP SCHEMA IF EXISTS "${exportSchema}" CASCADE`);
  await db?.end();
  await h?.close();
});

const insert = (id: string, extra: Record<string, unknown> = {}) => ({
  pipeline: 'stream',
  table: 'events',
  op: 'insert',
  rows: [{ id, body: `body of ${id}` }],
  ...extra,
});
const addAll = (payloads: object[], opts: JobsOptions = {}) => q.addBulk(payloads.map((data) => ({ name: 'insert', data, opts })));
const ids = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);
const fresh = async (jobs: Job[]) => Promise.all(jobs.map(async (j) => (await q.getJob(j.id!))!));
const byBulk = (j: Job) => j.processedBy?.startsWith('bulk:') ?? false;
/** one claim: the consumer that took it and the timestamp the claim script stamped */
const claimOf = (j: Job) => `${j.processedBy}@${j.processedOn}`;

/** Wait until every job has been taken, and return them as they are then. */
const taken = (what: string, jobs: Job[]) =>
  waitFor(what, async () => {
    const now = await fresh(jobs);
    return now.every((j) => j.processedOn !== undefined) && now;
  });

/** Wait until every job is completed or failed for good, and return them with their states. */
const settled = (jobs: Job[]) =>
  waitFor(
    'the jobs to complete or fail',
    async () => {
      // the state first: the script that finished a job wrote its fields with it, so the hash read after is as new
      const now = await Promise.all(
        jobs.map(async (j) => {
          const state = await q.getJobState(j.id!);
          return { state, job: (await q.getJob(j.id!))! };
        }),
      );
      return now.every((s) => s.state === 'completed' || s.state === 'failed') && now;
    },
    { timeoutMs: 120_000 },
  );

/**
 * With the commits held: the regular Worker's one ingest slot gets a job it cannot finish, and the
 * bulk consumer one to hold as well. From then on only the bulk consumer can take jobs, and the
 * extensions of its held job's lock show that it is running (see lockExtended). The plugs are
 * ordinary jobs, applied once the commits go through.
 */
async function occupyRegularWorker(tag: string): Promise<{ plugs: Job[]; heldByBulk: Job }> {
  const plugs: Job[] = [];
  let regular = false;
  let heldByBulk: Job | undefined;
  for (let i = 0; !(regular && heldByBulk); i++) {
    if (i >= 20) throw new Error('the regular Worker took none of 20 jobs');
    const [job] = await addAll([insert(`${tag}-plug-${i}`)], PLUG_RETRIES);
    plugs.push(job!);
    const [now] = await taken(`plug ${i} to be taken`, [job!]);
    if (byBulk(now!)) heldByBulk ??= now;
    else regular = true;
  }
  return { plugs, heldByBulk: heldByBulk! };
}

/**
 * Wait until the bulk consumer has extended a held job's lock `times` times. Its claim loop polls
 * every 200 ms at most, its extender every lockMs/3 (over a second), on the same event loop and
 * the same Redis connection: a claim is sent between two extensions, so two extensions seen after
 * a moment mean a claim has run since, however slow the machine.
 */
async function lockExtended(job: Job, times: number): Promise<void> {
  const key = `${q.toKey(job.id!)}:lock`;
  let last = await redis.pttl(key);
  let seen = 0;
  await waitFor(
    `${times} extensions of job ${job.id}'s lock`,
    async () => {
      const ttl = await redis.pttl(key);
      if (ttl > last) seen++;
      last = ttl;
      return seen >= times;
    },
    { everyMs: 50 },
  );
}

/** The rows of these ids in the record, and the requests recorded for these jobs (key -> version). */
async function applied(rowIds: string[], jobs: Job[]) {
  const rows = (await h.engine.store.select('stream', 'events')).filter((r) => rowIds.includes(r.id as string)).map((r) => r.id as string);
  const keys = jobs.map((j) => `job:${j.id}@${j.timestamp}`);
  const { rows: recorded } = await db.query(`SELECT request_id, version FROM "${h.cfg.schema}".requests WHERE request_id = ANY($1)`, [keys]);
  return { rows: rows.sort(), requests: new Map(recorded.map((r) => [r.request_id as string, r.version as number])) };
}

/**
 * Each job completed on its one successful attempt, its row is in the record once, its request
 * recorded in the version it reported; a job that did not stall found no earlier commit of it.
 */
async function expectAppliedOnce(jobs: Job[], rowIds: string[]) {
  const { rows, requests } = await applied(rowIds, jobs);
  expect(rows).toEqual([...rowIds].sort());
  for (const j of jobs) {
    // a job whose lock lapsed after its commit (a pause of a loaded machine, with the tests' 4 s
    // locks) is moved back to wait and runs again: it finds its request applied (`duplicate`) and
    // applies nothing, which the rows and the recorded request below still check
    // (the stall and attempt counts ride along, so a failure says which case it was)
    expect({ ...(j.returnvalue as object), id: j.id, stalledCounter: j.stalledCounter, attemptsStarted: j.attemptsStarted }).toMatchObject({
      count: 1,
      ...(j.stalledCounter ? {} : { duplicate: false }),
    });
    expect(requests.get(`job:${j.id}@${j.timestamp}`)).toBe((j.returnvalue as { version: number }).version);
  }
}

/** The plugs and the batch all completed on their first attempt, each applied once. */
async function expectAllCompletedOnce(plugs: Job[], batch: Job[], rowIds: string[]) {
  const end = await settled([...plugs, ...batch]);
  expect(end.map((s) => [s.state, s.job.attemptsMade])).toEqual(end.map(() => ['completed', 1]));
  await expectAppliedOnce(
    end.map((s) => s.job),
    [...rowIds, ...plugs.map((p) => p.data.rows[0].id as string)],
  );
}

test('a commit the record refuses is retried after the job’s backoff and applied once; a bad row in the same claim fails at once', async () => {
  const retryDue = new Map<string, number>();
  const onDelayed = ({ jobId, delay }: { jobId: string; delay: number }) => retryDue.set(jobId, Math.max(retryDue.get(jobId) ?? 0, Number(delay)));
  events.on('delayed', onDelayed);
  const held: HeldCommits = await holdCommits(PG_URL, h.cfg.schema);
  let plugs: Job[] = [];
  let batch: Job[];
  const good = ids('t1', 12);
  try {
    ({ plugs } = await occupyRegularWorker('t1'));
    // bad rows among good ones, added while the queue is paused (addBulk is a pipeline, not a
    // transaction): the claim after resume takes them all at once
    await q.pause();
    batch = await addAll(
      [
        ...good.slice(0, 4).map((id) => insert(id)),
        insert('t1-bad-1', { rows: [{ id: 't1-bad-1', n: 1 }] }), // no body
        ...good.slice(4, 8).map((id) => insert(id)),
        insert('t1-bad-2', { rows: [{ id: 't1-bad-2', body: 'text', n: 'not a number' }] }),
        ...good.slice(8).map((id) => insert(id)),
      ],
      RETRIES,
    );
    await q.resume();
    const claimed = await taken('the batch to be claimed', batch);
    expect(claimed.every(byBulk)).toBe(true);
    expect(new Set(claimed.map(claimOf)).size).toBe(1);
    // the record refuses every commit that reaches it, until each job of the batch has failed once
    await waitFor(
      'every job of the batch to fail once',
      async () => {
        await held.refuseWaiting();
        return (await fresh(batch)).every((j) => j.attemptsMade >= 1);
      },
      { everyMs: 200 },
    );
  } finally {
    await q.resume();
    await held.release();
  }
  const end = await settled([...plugs, ...batch]);
  const [bad1, bad2] = [4, 9].map((i) => end[plugs.length + i]!) as [(typeof end)[number], (typeof end)[number]];
  const goodJobs = end.filter((s) => !(s.job.data.rows[0].id as string).includes('bad'));
  // QueueEvents reads BullMQ's event stream on its own connection: it may lag behind the job states
  await waitFor('the retries’ delayed events', async () => goodJobs.every((s) => retryDue.has(s.job.id!))).finally(() => events.off('delayed', onDelayed));
  for (const { job, state } of goodJobs) {
    expect(state).toBe('completed');
    // the first attempt failed with the record's refusal, the one after the backoff applied it
    expect(job.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(job.failedReason).toMatch(/canceling statement due to user request/);
    expect(job.processedOn).toBeGreaterThanOrEqual(retryDue.get(job.id!)!);
  }
  await expectAppliedOnce(
    goodJobs.map((s) => s.job),
    [...good, ...plugs.map((p) => p.data.rows[0].id as string)],
  );
  // refused for what they hold: failed with their reason, not retried (attempts left unused), nothing written
  expect([bad1, bad2].map((s) => [s.state, s.job.attemptsMade, s.job.failedReason])).toEqual([
    ['failed', 1, 'insert into stream.events rejected: events row 1: missing required column body'],
    ['failed', 1, expect.stringMatching(/^insert into stream\.events rejected: events row 1: .*\bn\b/)],
  ]);
  expect((await applied(['t1-bad-1', 't1-bad-2'], [])).rows).toEqual([]);
});

test('while the ingest queue is paused the bulk consumer claims nothing; after resume every job is applied once', async () => {
  const held = await holdCommits(PG_URL, h.cfg.schema);
  const rowIds = ids('t2', 20);
  let plugs: Job[] = [];
  let batch: Job[] = [];
  try {
    const occupied = await occupyRegularWorker('t2');
    plugs = occupied.plugs;
    await q.pause();
    try {
      batch = await addAll(rowIds.map((id) => insert(id)));
      // only the bulk consumer could take them (the regular Worker's slot is taken), and it keeps running
      await lockExtended(occupied.heldByBulk, 2);
      const now = await fresh(batch);
      expect(await Promise.all(batch.map((j) => q.getJobState(j.id!)))).toEqual(batch.map(() => 'waiting'));
      expect(now.map((j) => [j.processedOn, j.attemptsStarted])).toEqual(batch.map(() => [undefined, 0]));
    } finally {
      await q.resume();
    }
    const claimed = await taken('the batch to be claimed after resume', batch);
    expect(claimed.every(byBulk)).toBe(true);
  } finally {
    await held.release();
  }
  await expectAllCompletedOnce(plugs, batch, rowIds);
});

test('delayed and prioritized jobs from a producer: none is taken before its delay, each is applied once', async () => {
  const DELAY = 1500;
  const plain = ids('t3-plain', 10);
  const prioritized = ids('t3-prio', 6);
  const delayed = ids('t3-delayed', 6);
  const both = ids('t3-both', 4);
  const parked = ids('t3-parked', 3);
  const jobs = await q.addBulk([
    ...plain.map((id) => ({ name: 'insert', data: insert(id) })),
    ...prioritized.map((id, i) => ({ name: 'insert', data: insert(id), opts: { priority: i + 1 } })),
    ...delayed.map((id) => ({ name: 'insert', data: insert(id), opts: { delay: DELAY } })),
    ...both.map((id, i) => ({ name: 'insert', data: insert(id), opts: { delay: DELAY, priority: i + 1 } })),
    ...parked.map((id) => ({ name: 'insert', data: insert(id), opts: { delay: 3_600_000 } })),
  ]);
  const due = jobs.slice(0, -parked.length);
  const end = await settled(due);
  expect(end.map((s) => [s.state, s.job.attemptsMade])).toEqual(end.map(() => ['completed', 1]));
  for (const { job } of end.filter((s) => s.job.opts.delay)) expect(job.processedOn).toBeGreaterThanOrEqual(job.timestamp + DELAY);
  await expectAppliedOnce(
    end.map((s) => s.job),
    [...plain, ...prioritized, ...delayed, ...both],
  );
  // everything else is done: the jobs delayed for an hour are still waiting for it, untouched
  const waiting = jobs.slice(-parked.length);
  expect(await Promise.all(waiting.map((j) => q.getJobState(j.id!)))).toEqual(['delayed', 'delayed', 'delayed']);
  expect((await fresh(waiting)).map((j) => j.processedOn)).toEqual([undefined, undefined, undefined]);
  expect((await applied(parked, [])).rows).toEqual([]);
  // promoted, they are applied once
  await Promise.all(waiting.map((j) => j.promote()));
  const promoted = await settled(waiting);
  expect(promoted.map((s) => s.state)).toEqual(['completed', 'completed', 'completed']);
  await expectAppliedOnce(
    promoted.map((s) => s.job),
    parked,
  );
});

/**
 * A queue-wide limit set on the ingest queue (BullMQ's global concurrency or global rate limit):
 * with the regular Worker's slot taken, what the bulk consumer claims while the limit is set.
 */
async function claimedUnderLimit(tag: string, limit: (active: number) => Promise<unknown>, unlimit: () => Promise<unknown>) {
  const held = await holdCommits(PG_URL, h.cfg.schema);
  const rowIds = ids(tag, 20);
  let plugs: Job[] = [];
  let batch: Job[] = [];
  let claimedWhileLimited: number;
  try {
    const occupied = await occupyRegularWorker(tag);
    plugs = occupied.plugs;
    await limit(await q.getActiveCount());
    try {
      batch = await addAll(rowIds.map((id) => insert(id)));
      await lockExtended(occupied.heldByBulk, 2);
      claimedWhileLimited = (await fresh(batch)).filter((j) => j.processedOn !== undefined).length;
    } finally {
      await unlimit();
    }
    expect((await taken('the batch to be claimed once the limit is gone', batch)).every(byBulk)).toBe(true);
  } finally {
    await held.release();
  }
  await expectAllCompletedOnce(plugs, batch, rowIds);
  return claimedWhileLimited;
}

test('the bulk consumer keeps to the queue’s global concurrency', async () => {
  // room for three more active jobs than the plugs
  const claimed = await claimedUnderLimit(
    't5',
    (active) => q.setGlobalConcurrency(active + 3),
    () => q.removeGlobalConcurrency(),
  );
  expect(claimed).toBe(3);
});

test('the bulk consumer keeps to the queue’s global rate limit', async () => {
  // three job starts in ten minutes (the plugs started before the limit was set)
  const claimed = await claimedUnderLimit(
    't6',
    () => q.setGlobalRateLimit(3, 600_000),
    () => q.removeGlobalRateLimit(),
  );
  expect(claimed).toBe(3);
});

test('a claimed job whose data is not JSON fails at once with that reason; the jobs claimed with it are applied once', async () => {
  const held = await holdCommits(PG_URL, h.cfg.schema);
  const rowIds = ids('t8', 8);
  let plugs: Job[] = [];
  let batch: Job[] = [];
  let bad: Job | undefined;
  try {
    ({ plugs } = await occupyRegularWorker('t8'));
    await q.pause();
    try {
      batch = await addAll(
        rowIds.map((id) => insert(id)),
        RETRIES,
      );
      [bad] = await addAll([insert('t8-bad')], RETRIES);
      // what a producer other than BullMQ's could store: data that is not JSON (this process's
      // Queue could not read the job back, so its state is read from its hash)
      await redis.hset(q.toKey(bad!.id!), 'data', '{"pipeline": "stream", rows: [');
    } finally {
      await q.resume();
    }
    // failed while the others still wait for their commit, on its first attempt of 5
    await waitFor('the job with unreadable data to fail', async () => (await q.getJobState(bad!.id!)) === 'failed');
    const [failedReason, attemptsMade, processedBy] = await redis.hmget(q.toKey(bad!.id!), 'failedReason', 'atm', 'pb');
    expect(failedReason).toMatch(/^job \d+: its data is not valid JSON \(.+\); BullMQ producers send job data as JSON$/);
    expect([attemptsMade, processedBy?.startsWith('bulk:')]).toEqual(['1', true]);
    const claimed = await taken('the batch to be claimed', batch);
    expect(claimed.every(byBulk)).toBe(true);
  } finally {
    await q.resume();
    await held.release();
  }
  await expectAllCompletedOnce(plugs, batch, rowIds);
  expect((await applied(['t8-bad'], [])).rows).toEqual([]);
});

test('jobs the bulk consumer of a SIGKILLed worker held come back through the stalled check and are applied once', async () => {
  await h.stopWorkers(); // a worker process of its own, alone on the queues
  const held = await holdCommits(PG_URL, h.cfg.schema);
  const rowIds = ids('t4', 20);
  let worker: WorkerProcess | undefined;
  let plugs: Job[] = [];
  let batch: Job[] = [];
  try {
    worker = await spawnWorker({ ...h.cfg.env, ...WORKER_ENV });
    plugs = (await occupyRegularWorker('t4')).plugs;
    batch = await addAll(rowIds.map((id) => insert(id))); // one attempt: a stall must not spend it
    const claimed = await taken('the batch to be claimed', batch);
    expect(claimed.every(byBulk)).toBe(true);
    await worker.kill('SIGKILL');
  } finally {
    if (worker?.child.exitCode === null && worker.child.signalCode === null) await worker.kill('SIGKILL');
    await held.release();
    await h.startWorkers(); // their regular Worker runs the stalled check
  }
  const end = await settled([...plugs, ...batch]);
  const again = end.slice(plugs.length);
  expect(again.map((s) => s.state)).toEqual(batch.map(() => 'completed'));
  for (const { job } of again) {
    expect(job.stalledCounter).toBeGreaterThanOrEqual(1); // moved back to wait by the stalled check
    expect(job.attemptsStarted).toBeGreaterThanOrEqual(2);
    expect(job.attemptsMade).toBe(1);
  }
  await expectAppliedOnce(
    end.map((s) => s.job),
    [...rowIds, ...plugs.map((p) => p.data.rows[0].id as string)],
  );
});
