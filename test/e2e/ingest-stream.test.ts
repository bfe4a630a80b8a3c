import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { Engine, loadConfig } from '@tessera/runtime';
import { startHarness, type Harness } from '../support/harness';
import { PG_URL as DB } from '../support/services';
import { freePort } from '../support/faults/free-port';
import { waitForExports } from '../support/wait';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { testConfig } from '../support/env';
import { cleanup } from '../support/cleanup';
import { metricSample as sample } from '../support/metrics';

/**
 * Streaming ingest with real worker processes: many producers each sending one row per job. The
 * workers commit the jobs they hold for a table together (one version per group), yet every job
 * keeps its own outcome and idempotency key. Counts of UDF calls and exported rows per key (kept
 * in Redis by the pipeline) prove each row was computed once and exported once.
 */
const PIPELINE = path.resolve(import.meta.dirname, '../../bench/pipelines/stream-bench');
const exportSchema = `stream_${Math.random().toString(16).slice(2, 8)}`;

let h: Harness;
let env: Record<string, string>;
let counter: string;
let redis: Redis;
let db: pg.Client;
let events: QueueEvents;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  process.env.TESSERA_STREAM_EXPORT_SCHEMA = exportSchema;
  process.env.TESSERA_STREAM_EXPORT_URL = DB;
  h = await startHarness(PIPELINE);
  // tests wait on every job they add (Job.waitUntilFinished listens on the queue that added it)
  h.engine.ingestQueue().setMaxListeners(0);
  counter = `${h.cfg.queuePrefix}:stream-counts`;
  // a 200 ms window: grouping does not depend on how fast a loaded machine fetches jobs
  env = {
    ...h.cfg.env,
    TESSERA_STREAM_COUNTER: counter,
    TESSERA_STREAM_EXPORT_SCHEMA: exportSchema,
    TESSERA_STREAM_EXPORT_URL: DB,
    TESSERA_INGEST_WINDOW_MS: '200',
  };
  await h.engine.apply(h.def);
  redis = new Redis(h.cfg.redisUrl);
  db = new pg.Client({ connectionString: DB });
  await db.connect();
  events = new QueueEvents('ingest', { connection: new Redis(h.cfg.redisUrl, { maxRetriesPerRequest: null }), prefix: h.cfg.queuePrefix });
  await events.waitUntilReady();
  workers = await Promise.all([spawnWorker(env), spawnWorker(env)]);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => (w.child.exitCode === null ? w.stop() : undefined)));
  await events?.close();
  await redis?.del(counter);
  redis?.disconnect();
  await db?.query(`DROP SCHEMA IF EXISTS ${exportSchema} CASCADE`);
  await db?.end();
  await h?.close();
});

const counts = async () => Object.fromEntries(Object.entries(await redis.hgetall(counter)).map(([k, v]) => [k, Number(v)]));
const exportedRows = async () => (await db.query(`SELECT id, body, n::int AS n, loud, size::int AS size FROM ${exportSchema}.events ORDER BY id`)).rows;
/** the outcome of a job: its return value, or its failure reason */
const outcome = (job: Job) =>
  job.waitUntilFinished(events, 120_000).then(
    (value: unknown) => ({ ok: true as const, value: value as { version: number; count: number; duplicate: boolean } }),
    (e: Error) => ({ ok: false as const, reason: e.message }),
  );
const settle = () => waitForExports(h.engine, 'stream');
const body = (i: number) => `event number ${i}`;

test('many concurrent single-row producers: grouped into few versions, each row computed once and exported once; a bad job fails alone', async () => {
  const N = 600;
  const PRODUCERS = 8;
  await h.engine.insert('stream', 'events', [{ id: 'seed', body: 'already here' }]);
  await settle();
  const base = await counts();
  const before = (await h.engine.store.table('stream', 'events')).version;
  const producers = Array.from({ length: PRODUCERS }, () => new Queue('ingest', { connection: redis, prefix: h.cfg.queuePrefix }).setMaxListeners(0));
  const jobs: Array<Promise<Job>> = [];
  for (let i = 0; i < N; i++)
    jobs.push(producers[i % PRODUCERS]!.add('insert', { pipeline: 'stream', table: 'events', op: 'insert', rows: [{ id: `e${i}`, body: body(i), n: i }] }));
  // bad jobs among them: a row missing a required column, a payload that is not one, a key that exists
  jobs.splice(100, 0, producers[0]!.add('insert', { pipeline: 'stream', table: 'events', rows: [{ id: 'bad-1', n: 1 }] }));
  jobs.splice(200, 0, producers[1]!.add('insert', { pipeline: 'stream', table: 'events', rows: 'not rows' }));
  jobs.splice(300, 0, producers[2]!.add('insert', { pipeline: 'stream', table: 'events', rows: [{ id: 'seed', body: 'again' }] }));
  const results = await Promise.all((await Promise.all(jobs)).map(outcome));
  const failed = results
    .filter((r) => !r.ok)
    .map((r) => (r as { reason: string }).reason)
    .sort();
  expect(failed).toEqual([
    'insert into stream.events rejected: events row 1: a row with key {"id":"seed"} already exists (use update or upsert to change an existing row)',
    'insert into stream.events rejected: events row 1: missing required column body',
    expect.stringMatching(/^invalid ingest payload: rows: .*expected array/i),
  ]);
  expect(results.filter((r) => r.ok)).toHaveLength(N);
  await settle();

  const rows = (await h.engine.store.select('stream', 'events', { orderBy: ['id'] })).filter((r) => r.id !== 'seed');
  expect(rows).toHaveLength(N);
  for (const r of rows) expect(r).toMatchObject({ loud: `${(r.body as string).toUpperCase()}!`, size: (r.body as string).length });
  expect((await h.engine.store.select('stream', 'events', { where: { id: 'seed' } }))[0]).toMatchObject({ body: 'already here' });
  const c = await counts();
  expect([c['udf:shout']! - base['udf:shout']!, c['udf:size']! - base['udf:size']!]).toEqual([N, N]);
  const target = (await exportedRows()).filter((r) => r.id !== 'seed');
  expect(target).toHaveLength(N);
  for (const t of target) expect(t).toMatchObject({ loud: `${(t.body as string).toUpperCase()}!`, size: (t.body as string).length });
  const twice = Object.entries(c).filter(([k, v]) => k.startsWith('exported:') && v !== 1);
  expect(twice).toEqual([]);

  // grouped: far fewer versions than producer calls, and each version says which requests it holds
  const versions = (await h.engine.store.versions('stream', 'events')).filter((v) => v.version > before);
  expect(versions.length).toBeLessThanOrEqual(N / 4);
  expect(versions.reduce((s, v) => s + v.inserts, 0)).toBe(N);
  expect(versions.reduce((s, v) => s + v.requests, 0)).toBe(N);
  const grouped = versions.find((v) => v.requests > 1)!;
  const held = await h.engine.store.requests('stream', 'events', grouped.version);
  expect(held).toHaveLength(grouped.requests);
  expect(held.every((r) => /^job:\d+@\d+$/.test(r.id) && r.op === 'insert' && r.count === 1)).toBe(true);
  expect(grouped.requestIds).toEqual(held.slice(0, 3).map((r) => r.id));

  // every job is in the workers' metrics, whichever way it was taken (claimed in bulk or fetched one
  // by one): at least once (a job that stalled on a loaded machine and ran again may count twice)
  const scraped = await Promise.all(workers.map(async (w) => (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text()));
  const total = (name: string, labels: Record<string, string>) => scraped.reduce((s, text) => s + sample(text, name, labels), 0);
  expect(total('tessera_jobs_total', { queue: 'ingest', outcome: 'completed' })).toBeGreaterThanOrEqual(N);
  expect(total('tessera_job_duration_seconds_count', { queue: 'ingest' })).toBeGreaterThanOrEqual(N);
  expect(total('tessera_jobs_total', { queue: 'ingest', outcome: 'failed' })).toBeGreaterThanOrEqual(3);
});

test('a re-sent job with the same requestId applies once, also when grouped with its copy; the same id with other rows is refused', async () => {
  const q = h.engine.ingestQueue();
  const first = await outcome(await q.add('insert', { pipeline: 'stream', table: 'events', rows: [{ id: 'r1', body: 'sent once' }], requestId: 'req-r1' }));
  expect(first).toMatchObject({ ok: true, value: { count: 1, duplicate: false } });
  await settle();
  const before = await counts();
  // two copies of a new request at once (committed in one group), a copy of the first, and a reuse of its id with other rows
  const [a, b, again, reused] = await Promise.all([
    q.add('insert', { pipeline: 'stream', table: 'events', rows: [{ id: 'r2', body: 'twice' }], requestId: 'req-r2' }),
    q.add('insert', { pipeline: 'stream', table: 'events', rows: [{ id: 'r2', body: 'twice' }], requestId: 'req-r2' }),
    q.add('insert', { pipeline: 'stream', table: 'events', rows: [{ id: 'r1', body: 'sent once' }], requestId: 'req-r1' }),
    q.add('insert', { pipeline: 'stream', table: 'events', rows: [{ id: 'r1-other', body: 'different' }], requestId: 'req-r1' }),
  ]);
  const [oa, ob, oAgain, oReused] = await Promise.all([a, b, again, reused].map(outcome));
  const dup = (o: Awaited<ReturnType<typeof outcome>> | undefined) => (o?.ok ? o.value.duplicate : 'failed');
  expect([dup(oa), dup(ob)].sort()).toEqual([false, true]);
  expect(oAgain).toMatchObject({ ok: true, value: { version: (first as { value: { version: number } }).value.version, duplicate: true } });
  expect(oReused).toEqual({
    ok: false,
    reason: expect.stringMatching(
      /^insert into stream\.events rejected: events: request id "req-r1" was already used for a different write \(insert of 1 row\(s\), version \d+\); a retry must send the same rows/,
    ),
  });
  await settle();
  expect(
    (await h.engine.store.select('stream', 'events'))
      .filter((r) => ['r1', 'r2', 'r1-other'].includes(r.id as string))
      .map((r) => r.id)
      .sort(),
  ).toEqual(['r1', 'r2']);
  expect((await counts())['udf:shout']! - before['udf:shout']!).toBe(1);
});

test('upsert from a producer: new keys are inserted, existing ones updated, only what changed recomputed and re-exported', async () => {
  const before = await counts();
  const q = h.engine.ingestQueue();
  const [x, y] = await Promise.all([
    q.add('upsert', {
      pipeline: 'stream',
      table: 'events',
      op: 'upsert',
      rows: [
        { id: 'e1', body: 'changed body' },
        { id: 'u-new', body: 'brand new', n: 7 },
      ],
    }),
    q.add('upsert', { pipeline: 'stream', table: 'events', op: 'upsert', rows: [{ id: 'e2', n: 2000 }] }),
  ]);
  const [ox, oy] = await Promise.all([x, y].map(outcome));
  expect(ox).toMatchObject({ ok: true, value: { count: 2 } });
  expect(oy).toMatchObject({ ok: true, value: { count: 1 } });
  const bad = await outcome(await q.add('upsert', { pipeline: 'stream', table: 'events', op: 'upsert', rows: [{ id: 'u-new-2', n: 1 }] }));
  expect(bad).toEqual({
    ok: false,
    reason: 'upsert into stream.events rejected: events row 1: missing required column body (the key is new, so the row is inserted)',
  });
  await settle();
  const target = new Map((await exportedRows()).map((r) => [r.id, r]));
  expect(target.get('e1')).toMatchObject({ body: 'changed body', loud: 'CHANGED BODY!', size: 12, n: 1 });
  expect(target.get('e2')).toMatchObject({ body: body(2), n: 2000, loud: `${body(2).toUpperCase()}!` });
  expect(target.get('u-new')).toMatchObject({ body: 'brand new', n: 7, loud: 'BRAND NEW!', size: 9 });
  expect(target.has('u-new-2')).toBe(false);
  const c = await counts();
  // e1's body changed and u-new is new: 2 cells each; e2 changed only n, which nothing computes from
  expect(c['udf:shout']! - before['udf:shout']!).toBe(2);
  expect(c['udf:size']! - before['udf:size']!).toBe(2);
  const kinds = (await h.engine.store.versions('stream', 'events')).filter((v) => v.kind === 'upsert');
  expect(kinds.reduce((s, v) => s + v.inserts, 0)).toBe(1);
  expect(kinds.reduce((s, v) => s + v.updates, 0)).toBe(2);
});

test('a worker SIGKILLed while a group is committing loses and duplicates nothing', async () => {
  const table = await h.engine.store.table('stream', 'events');
  const N = 200;
  // hold writes to the requests record: the next group's transaction has written its version and
  // rows and then waits, mid-commit, until we let go
  const blocker = new pg.Client({ connectionString: DB });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query(`LOCK TABLE "${h.cfg.schema}".requests IN SHARE MODE`);
  const q = h.engine.ingestQueue();
  const jobs = await Promise.all(
    Array.from({ length: N }, (_, i) => q.add('insert', { pipeline: 'stream', table: 'events', rows: [{ id: `k${i}`, body: body(10_000 + i) }] })),
  );
  const waiting = async () =>
    (
      await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [
        `INSERT INTO "${h.cfg.schema}".requests%`,
      ])
    ).rows[0].n as number;
  for (let i = 0; (await waiting()) === 0; i++) {
    if (i > 1200) throw new Error('no group reached the requests record');
    await new Promise((r) => setTimeout(r, 50));
  }
  // one worker is mid-commit, the other holds jobs waiting for the table lock or its window: kill both
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  await blocker.query('ROLLBACK');
  await blocker.end();
  workers = await Promise.all([spawnWorker(env), spawnWorker(env)]);
  const results = await Promise.all(jobs.map(outcome));
  expect(results.filter((r) => !r.ok)).toEqual([]);
  await settle();
  const rows = (await h.engine.store.select('stream', 'events')).filter((r) => (r.id as string).startsWith('k'));
  expect(rows).toHaveLength(N);
  expect(new Set(rows.map((r) => r.id)).size).toBe(N);
  for (const r of rows) expect(r).toMatchObject({ loud: `${(r.body as string).toUpperCase()}!`, size: (r.body as string).length });
  const target = (await exportedRows()).filter((r) => r.id.startsWith('k'));
  expect(target).toHaveLength(N);
  // each job's request is recorded exactly once, in the version that holds its row
  const { rows: recorded } = await db.query(
    `SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS d FROM "${h.cfg.schema}".requests WHERE table_id = $1 AND request_id = ANY($2)`,
    [table.id, jobs.map((j) => `job:${j.id}@${j.timestamp}`)],
  );
  expect(recorded[0]).toEqual({ n: N, d: N });
});

test('after Redis loses its data (job ids start again at 1), new jobs are applied, not taken for old ones', async () => {
  // our own Redis, to flush: never the shared one
  const port = await freePort();
  const server: ChildProcess = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' });
  let own: Redis | undefined;
  for (let i = 0; !own; i++) {
    // a fresh client per try: one whose first connect failed keeps reconnecting on its own
    const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: () => null });
    try {
      await client.connect();
      own = client;
    } catch {
      client.disconnect();
      if (i > 300) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const cfg = testConfig({ TESSERA_PIPELINES: PIPELINE, TESSERA_REDIS_URL: `redis://127.0.0.1:${port}` });
  const engine = await Engine.connect(loadConfig(cfg.env));
  const ownEvents = new QueueEvents('ingest', { connection: new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null }), prefix: cfg.queuePrefix });
  let worker: WorkerProcess | undefined;
  try {
    await engine.apply(h.def);
    worker = await spawnWorker({ ...cfg.env, TESSERA_STREAM_EXPORT_SCHEMA: exportSchema, TESSERA_STREAM_EXPORT_URL: DB });
    const q = engine.ingestQueue();
    const send = async (from: number) => {
      const jobs = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          q.add('insert', { pipeline: 'stream', table: 'events', rows: [{ id: `f${from + i}`, body: `flush ${from + i}` }] }),
        ),
      );
      return Promise.all(jobs.map((j) => j.waitUntilFinished(ownEvents, 60_000) as Promise<{ duplicate: boolean }>)).then((r) => ({
        ids: jobs.map((j) => j.id),
        r,
      }));
    };
    const first = await send(0);
    await own!.flushall();
    const second = await send(5);
    expect(second.ids).toEqual(first.ids); // the counter started again
    expect(second.r.map((x) => x.duplicate)).toEqual([false, false, false, false, false]);
    await engine.waitIdle('stream', { timeoutMs: 60_000 });
    const rows = await engine.store.select('stream', 'events', { orderBy: ['id'] });
    expect(rows.map((r) => r.id)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9']);
  } finally {
    await worker?.stop();
    await ownEvents.close();
    await engine.close();
    await cleanup(cfg);
    own.disconnect();
    server.kill('SIGTERM');
  }
});
