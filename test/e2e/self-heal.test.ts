import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { failedJobs, runReconcileTick, PipelineRegistry, WorkerPool } from '@tessera/runtime';
import { createMediaContext } from '@tessera/connectors';
import { startHarness, makeItems, SHAPES, type Harness } from '../support/harness';
import { expectedItem } from '../support/expected';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { startOwnPostgres } from '../support/faults/own-postgres';
import { startOwnRedis } from '../support/faults/own-redis';
import { tempDir } from '../support/temp-dir';
import { startOpenAIServer, type Fault } from '../support/openai-server/index';
import * as shapes from '../pipelines/shapes/index';

/**
 * The fleet heals itself: no `tessera reconcile` is run by hand anywhere in this file. Work lost
 * from Redis, jobs refused for code skew, a restart of Tessera's own Postgres and transient model
 * failures are all resumed by the workers (the periodic reconcile on a BullMQ job scheduler, jobs
 * that keep their progress), and the results equal the values written out by hand.
 */
const FAST = { TESSERA_RECONCILE_EVERY_MS: '1000', TESSERA_RECONCILE_GRACE_MS: '300' };
const COLUMNS = ['id', 'upper', 'words', 'combo', 'shout', 'shout_len', 'tagged', 'ratio'];

async function dropQueues(redisUrl: string, prefix: string) {
  // Redis lost this run's data (on the shared Redis, only this test's keys)
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
}

test('work lost from Redis is resumed by the fleet itself; a clean table then costs a tick nothing', async () => {
  const h = await startHarness(SHAPES, FAST);
  try {
    await h.engine.apply(h.def);
    const items = makeItems(300);
    await h.engine.insert('shapes', 'items', items);
    await dropQueues(h.cfg.redisUrl, h.cfg.queuePrefix);
    expect((await h.engine.store.status('shapes', 'items')).columns.every((c) => c.pending === 300)).toBe(true);
    await h.startWorkers(); // registers the fleet's reconcile scheduler; its ticks find the lost work
    await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
    const rows = await h.engine.store.select('shapes', 'items', { columns: COLUMNS, withErrors: true, orderBy: ['id'] });
    expect(rows).toHaveLength(300);
    rows.forEach((row, i) => expect(row).toMatchObject(expectedItem(items[i]!)));
    // once clean, a tick does not look at the table again until it changes
    await waitFor(async () => (await runReconcileTick(h.engine)).reports.some((r) => r.table === 'items' && r.skipped === 'clean'), 'the table marked clean');
    // a new write makes it dirty; lost again, it is found again (rows after the clean mark, by index)
    await h.stopWorkers();
    await h.engine.insert('shapes', 'items', makeItems(50, 300));
    await dropQueues(h.cfg.redisUrl, h.cfg.queuePrefix);
    await h.startWorkers();
    await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
    expect((await h.engine.store.status('shapes', 'items')).columns.every((c) => c.pending === 0 && c.done + c.failed === 350)).toBe(true);
  } finally {
    await h.close();
  }
}, 240_000);

/** A lock after Redis lost them, a tick enqueues the 60 items' rows and the workers compute them right. */
async function expectLostItemsComputedALockLater(h: Harness) {
  await waitFor(async () => (await runReconcileTick(h.engine)).reports.some((r) => r.table === 'items' && r.enqueued > 0), 'the lost rows enqueued');
  await h.startWorkers();
  await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
  const rows = await h.engine.store.select('shapes', 'items', { columns: COLUMNS, withErrors: true, orderBy: ['id'] });
  expect(rows).toHaveLength(60);
  rows.forEach((row, i) => expect(row).toMatchObject(expectedItem(makeItems(60)[i]!)));
}

test('rows Redis lost are enqueued again only a lock after the loss (jobs running then stop first, rather than compute them twice), then computed', async () => {
  const h = await startHarness(SHAPES, FAST); // the tests' lock: 4 s
  try {
    await h.engine.apply(h.def);
    await h.engine.insert('shapes', 'items', makeItems(60));
    await new Promise((r) => setTimeout(r, 500)); // the version is past the grace
    await dropQueues(h.cfg.redisUrl, h.cfg.queuePrefix);
    // the tick right after the loss finds the rows and holds them back: a worker may still be computing them
    const right = await runReconcileTick(h.engine);
    const items = right.reports.find((r) => r.table === 'items')!;
    expect(items).toMatchObject({ skipped: 'redis lost its data', enqueued: 0 });
    expect(items.pendingBatches).toBeGreaterThan(0);
    expect(await h.engine.queue('cpu').count()).toBe(0);
    await expectLostItemsComputedALockLater(h);
  } finally {
    await h.close();
  }
}, 240_000);

const snapshotDir = tempDir('tessera-redis-snapshot-');

test('Redis restarted from an older snapshot (the marker kept, the newest jobs lost) is seen by its new run id: the lost rows wait a lock, then are computed', async () => {
  const own = await startOwnRedis({ snapshotDir });
  const h = await startHarness(SHAPES, { ...FAST, TESSERA_REDIS_URL: own.url });
  try {
    await h.engine.apply(h.def);
    await runReconcileTick(h.engine); // the fleet's first tick on this Redis marks it
    await new Promise((r) => setTimeout(r, h.cfg.lockMs + 500)); // a lock later, nothing is held back for it
    await own.save(); // the snapshot holds the marker ...
    await h.engine.insert('shapes', 'items', makeItems(60)); // ... but not these rows' jobs
    await own.restartFromSnapshot();
    await new Promise((r) => setTimeout(r, 500)); // the version is past the grace
    expect(await h.engine.queue('cpu').count()).toBe(0);
    const right = await runReconcileTick(h.engine);
    expect(right.reports.find((r) => r.table === 'items')).toMatchObject({ skipped: 'redis lost its data', enqueued: 0 });
    await expectLostItemsComputedALockLater(h);
  } finally {
    await h.close();
    await own.stop();
  }
}, 240_000);

test('jobs refused for code skew are picked up once workers with the matching code run, and show meanwhile', async () => {
  const h = await startHarness(SHAPES, FAST);
  const media = createMediaContext({ defaultDestination: h.cfg.mediaDestination, cacheDir: h.cfg.cacheDir });
  let old: WorkerPool | undefined;
  let fresh: WorkerPool | undefined;
  try {
    await h.engine.apply(h.def);
    // old workers (upper@1) run; the new code (upper@2) is applied before they are replaced
    old = await WorkerPool.start({ engine: h.engine, registry: new PipelineRegistry([h.def]), media });
    const v2 = shapes.shapesPipeline({ upperVersion: '2' });
    await h.engine.apply(v2, { recompute: true });
    const items = makeItems(120);
    await h.engine.insert('shapes', 'items', items);
    // refused, not computed with the wrong code; visible with its reason
    await waitFor(async () => (await failedJobs(h.engine, 'shapes')).some((f) => /UDF version skew/.test(f.reason)), 'the refusal to show');
    expect((await h.engine.store.status('shapes', 'items')).columns.find((c) => c.column === 'upper')!.pending).toBe(120);
    // the rolling restart: new workers start, old ones stop; nobody runs reconcile
    fresh = await WorkerPool.start({ engine: h.engine, registry: new PipelineRegistry([v2]), media });
    await old.close();
    old = undefined;
    await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
    const rows = await h.engine.store.select('shapes', 'items', { columns: COLUMNS, withErrors: true, orderBy: ['id'] });
    rows.forEach((row, i) => expect(row).toMatchObject(expectedItem(items[i]!)));
    expect(await failedJobs(h.engine, 'shapes')).toEqual([]); // nothing left undone
  } finally {
    await old?.close();
    await fresh?.close();
    await h.close();
  }
}, 240_000);

test("worker processes survive a restart of Tessera's own Postgres and finish the run", async () => {
  const pg = await startOwnPostgres();
  const h = await startHarness(SHAPES, { ...FAST, TESSERA_DATABASE_URL: pg.url });
  let workers: WorkerProcess[] = [];
  try {
    await h.engine.apply(h.def);
    workers = await Promise.all([
      spawnWorker({ ...h.cfg.env, TESSERA_TEST_UDF_DELAY_MS: '20' }),
      spawnWorker({ ...h.cfg.env, TESSERA_TEST_UDF_DELAY_MS: '20' }),
    ]);
    const items = makeItems(600);
    await h.engine.insert('shapes', 'items', items);
    const done = async () => (await h.engine.store.status('shapes', 'items')).columns.reduce((a, c) => a + c.done + c.failed, 0);
    await waitFor(async () => (await done()) > 200, 'a part of the run');
    // producers keep writing through the ingest queue meanwhile: the workers hold transactions
    // (BEGIN ... COMMIT on a checked-out client) when the restart terminates every connection (57P01)
    const late = makeItems(200, 600);
    let sent = 0;
    const ingest = h.engine.ingestQueue();
    const producing = (async () => {
      for (; sent < late.length; sent += 4) {
        await ingest.add(
          'insert',
          { pipeline: 'shapes', table: 'items', rows: late.slice(sent, sent + 4), requestId: `late-${sent}` },
          { attempts: 3, backoff: { type: 'fixed', delay: 200 } },
        );
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await pg.restart();
    await producing;
    await waitFor(async () => (await h.engine.store.status('shapes', 'items')).rows === 800, 'every ingested row', 120_000);
    await h.engine.waitIdle('shapes', { timeoutMs: 180_000 });
    items.push(...late);
    for (const w of workers) {
      expect(w.child.exitCode).toBeNull();
      expect(w.output()).not.toMatch(/Unhandled 'error' event/);
    }
    const rows = await h.engine.store.select('shapes', 'items', { columns: COLUMNS, withErrors: true, orderBy: ['id'] });
    expect(rows).toHaveLength(800);
    rows.forEach((row, i) => expect(row).toMatchObject(expectedItem(items[i]!)));
  } finally {
    await Promise.all(workers.map((w) => (w.child.exitCode === null ? w.kill('SIGKILL') : null)));
    await h.close();
    await pg.destroy();
  }
}, 300_000);

test('a model job under 20% transient failures keeps its progress: it finishes within 2 attempts and asks for no answer twice', async () => {
  const server = await startOpenAIServer();
  process.env.TESSERA_TEST_OPENAI_URL = server.url;
  const h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/model-calls'), {
    ...FAST,
    TESSERA_BATCH_SIZE: '300',
    TESSERA_JOB_ATTEMPTS: '2',
    TESSERA_WRITE_BACK_ROWS: '25',
    // the production lock: a 4 s one lapses under load, and a second job then asks the model again
    // (the first stops once its lock renewal fails, but not before its calls in flight)
    TESSERA_LOCK_MS: '30000',
  });
  try {
    await h.engine.apply(h.def);
    // every fifth chat request fails (500 or 429); the others pass (a zero delay)
    const faults: Fault[] = Array.from({ length: 2000 }, (_, i) =>
      i % 5 === 4 ? { kind: 'status', status: i % 10 === 4 ? 429 : 500 } : { kind: 'delay', ms: 0 },
    );
    server.inject(faults, '/chat/completions');
    await h.startWorkers();
    await h.engine.insert(
      'model-calls',
      'docs',
      Array.from({ length: 300 }, (_, i) => ({ id: i, text: `row ${i} under faults` })),
    );
    await h.engine.waitIdle('model-calls', { timeoutMs: 180_000 });
    const rows = await h.engine.store.select('model-calls', 'docs', { limit: 1000, withErrors: true });
    expect(rows).toHaveLength(300);
    for (const r of rows) expect(r.summary).toBe(`Echo: Summarise: row ${r.id} under faults`);
    const status = await h.engine.store.status('model-calls', 'docs');
    expect(status.columns.map((c) => [c.column, c.done, c.failed])).toEqual([
      ['summary', 300, 0],
      ['embedding', 300, 0],
    ]);
    // one answered request per cell: nothing was asked twice
    expect(server.arrivals.filter((a) => a.model === 'calls-chat' && a.status === 200)).toHaveLength(300);
    const chat = server.arrivals.filter((a) => a.path.endsWith('/chat/completions'));
    expect(chat.filter((a) => a.status !== 200).length).toBeGreaterThan(30);
    // usage was counted as the calls happened, failed ones too
    const usage = await h.engine.store.usage('model-calls', 'docs');
    expect(usage.summary!.calls).toBe(chat.length);
  } finally {
    await h.close();
    await server.close();
  }
}, 240_000);

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("the record does not grow with every producer call or model answer: the fleet's tick forgets request ids and cached answers older than their keep hours", async () => {
  const h = await startHarness(SHAPES, { TESSERA_REQUEST_KEEP_HOURS: '1', TESSERA_RESPONSE_CACHE_KEEP_HOURS: '3' });
  const db = new pg.Client({ connectionString: h.cfg.databaseUrl });
  await db.connect();
  try {
    await h.engine.apply(h.def);
    const items = makeItems(30);
    const requests = items.map((row, i) => ({ id: `producer-${i}`, rows: [row] }));
    await h.engine.store.commitGroup('shapes', 'items', 'insert', requests.slice(0, 20));
    await h.engine.store.commitGroup('shapes', 'items', 'insert', requests.slice(20));
    const schema = h.cfg.schema;
    // the first 20 were committed two hours ago
    await db.query(`UPDATE "${schema}".requests SET created_at = now() - interval '2 hours' WHERE request_id = ANY($1)`, [
      requests.slice(0, 20).map((r) => r.id),
    ]);
    // model answers: 5 cached four hours ago, 3 two hours ago (kept: the bound is 3 hours), 2 now
    const cache = h.engine.store.responseCache();
    await cache.setMany(Array.from({ length: 10 }, (_, i) => [`answer-${i}`, { embedding: [i, i + 1] }]));
    await db.query(`UPDATE "${schema}".response_cache SET created_at = now() - interval '4 hours' WHERE key = ANY($1)`, [
      [0, 1, 2, 3, 4].map((i) => `answer-${i}`),
    ]);
    await db.query(`UPDATE "${schema}".response_cache SET created_at = now() - interval '2 hours' WHERE key = ANY($1)`, [[5, 6, 7].map((i) => `answer-${i}`)]);
    const tick = await runReconcileTick(h.engine);
    expect(tick.forgottenRequests).toBe(20);
    expect(tick.forgottenResponses).toBe(5);
    expect(await cache.getMany(Array.from({ length: 10 }, (_, i) => `answer-${i}`))).toEqual([
      ...Array(5).fill(undefined),
      ...[5, 6, 7, 8, 9].map((i) => ({ embedding: [i, i + 1] })),
    ]);
    const { rows } = await db.query(`SELECT request_id FROM "${schema}".requests ORDER BY request_id`);
    expect(rows.map((r) => r.request_id)).toEqual(
      requests
        .slice(20)
        .map((r) => r.id)
        .sort(),
    );
    const again = await runReconcileTick(h.engine); // nothing more to forget
    expect([again.forgottenRequests, again.forgottenResponses]).toEqual([undefined, undefined]);
  } finally {
    await db.end();
    await h.close();
  }
});
