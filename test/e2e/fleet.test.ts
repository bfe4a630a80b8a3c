import { Redis } from 'ioredis';
import { reconcile } from '@tessera/runtime';
import { startHarness, makeItems } from '../support/harness';
import { spawnWorkers, stopWorkers as stopAll } from '../support/worker-process';
import { expectedItem } from '../support/expected';
import { callCounter } from '../support/call-counter';
import { deleteQueueKeys } from '../support/cleanup';
import { workerMetric } from '../support/metrics';
import { waitFor } from '../support/wait';

/**
 * The fleet end to end: real worker processes sharing queues in Redis and the record in Postgres.
 * The undisturbed run is the reference the crash and Redis-loss runs are compared with, cell by cell.
 */
const ITEMS = makeItems(10_000);
const COLUMNS = ['id', 'text', 'n', 'meta', 'upper', 'words', 'combo', 'shout', 'shout_len', 'tagged', 'ratio'];
let reference: Record<string, unknown>[] = [];

async function run(opts: { delayMs?: number } = {}) {
  const h = await startHarness();
  // under the test's prefix: deleted with its queues
  const counter = callCounter({ key: `${h.cfg.queuePrefix}:udf-calls`, redisUrl: h.cfg.redisUrl });
  const env = { ...h.cfg.env, TESSERA_TEST_COUNTER: counter.key, ...(opts.delayMs ? { TESSERA_TEST_UDF_DELAY_MS: String(opts.delayMs) } : {}) };
  await h.engine.apply(h.def);
  const workers = await spawnWorkers(2, env);
  const counts = counter.counts;
  const done = async () => (await h.engine.store.status('shapes', 'items')).columns.reduce((a, c) => a + c.done + c.failed, 0);
  const rows = () => h.engine.store.select('shapes', 'items', { columns: COLUMNS, withErrors: true, orderBy: ['id'] });
  return { h, workers, counts, done, rows };
}

const strip = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.endsWith('_errormsg'))));

describe('a fleet of two worker processes', () => {
  test('computes a chain and a diamond over 10,000 rows, each cell once; then only the new rows', async () => {
    const { h, workers, counts, rows } = await run();
    try {
      await h.engine.insert('shapes', 'items', ITEMS);
      await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
      reference = await rows();
      expect(reference).toHaveLength(10_000);
      for (const [i, row] of reference.entries()) expect(row).toMatchObject(expectedItem(ITEMS[i]!));

      // each UDF ran exactly once per row: no cell computed twice, none skipped
      const c1 = await counts();
      for (const udf of ['upper', 'word_count', 'combine', 'shout', 'str_len', 'describe', 'checked_ratio']) expect(c1[udf]).toBe(10_000);
      expect(c1.upper_calls).toBe(200); // batched: 100-row jobs, 50 rows per call

      await h.engine.insert('shapes', 'items', makeItems(100, 10_000));
      await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
      const c2 = await counts();
      for (const udf of ['upper', 'word_count', 'combine', 'shout', 'str_len', 'describe', 'checked_ratio']) expect(c2[udf]! - c1[udf]!).toBe(100);

      // both processes took work, and say so on their metrics endpoints
      for (const w of workers) {
        expect(await workerMetric([w], 'tessera_jobs_total', { queue: 'cpu', outcome: 'completed' })).toBeGreaterThan(0);
        expect((await fetch(`http://127.0.0.1:${w.port}/healthz`)).status).toBe(200);
      }
      // SIGTERM: finish active jobs, exit cleanly
      expect(await stopAll(workers)).toEqual([0, 0]);
    } finally {
      await stopAll(workers);
      await h.close();
    }
  });

  test('a worker SIGKILLed mid-run loses nothing and duplicates nothing', async () => {
    expect(reference).toHaveLength(10_000);
    const { h, workers, done, rows } = await run({ delayMs: 60 });
    try {
      await h.engine.insert('shapes', 'items', ITEMS);
      await waitFor('a part of the run to finish', async () => (await done()) > 7 * 1500);
      expect(await workers[0]!.kill('SIGKILL')).toBeNull();
      await h.engine.waitIdle('shapes', { timeoutMs: 180_000 });
      const after = await rows();
      expect(strip(after)).toEqual(strip(reference));
      const versions = await h.engine.store.versions('shapes', 'items');
      expect(versions.map((v) => v.kind)).toEqual(['create_table', 'insert']);
    } finally {
      await stopAll(workers);
      await h.close();
    }
  });

  test('after Redis loses every key mid-run, reconcile completes it with identical results', async () => {
    expect(reference).toHaveLength(10_000);
    const { h, workers, done, rows } = await run({ delayMs: 60 });
    try {
      await h.engine.insert('shapes', 'items', ITEMS);
      await waitFor('a part of the run to finish', async () => (await done()) > 7 * 1500);
      const redis = new Redis(h.cfg.redisUrl);
      if (process.env.CI === 'true') await redis.flushall();
      // on a shared development machine, lose only this test's keys (all Tessera keeps is under its prefix)
      else await deleteQueueKeys(h.cfg);
      redis.disconnect();
      await new Promise((r) => setTimeout(r, 2000));
      const pending = (await h.engine.store.status('shapes', 'items')).columns.reduce((a, c) => a + c.pending, 0);
      expect(pending).toBeGreaterThan(0); // the flush really lost work
      const report = await reconcile(h.engine, 'shapes');
      expect(report[0]!.enqueued).toBeGreaterThan(0);
      await h.engine.waitIdle('shapes', { timeoutMs: 180_000 });
      expect(strip(await rows())).toEqual(strip(reference));
      // nothing is lost any more: a second reconcile finds nothing to do
      expect((await reconcile(h.engine, 'shapes'))[0]!.enqueued).toBe(0);
    } finally {
      await stopAll(workers);
      await h.close();
    }
  });

  test('SIGTERM: a worker finishes its active jobs and exits 0 while the other carries on', async () => {
    const { h, workers, done, rows } = await run({ delayMs: 60 });
    try {
      const items = ITEMS.slice(0, 3000);
      await h.engine.insert('shapes', 'items', items);
      await waitFor('a part of the run to finish', async () => (await done()) > 7 * 500);
      const active = await h.engine.queue('cpu').getActiveCount();
      expect(active).toBeGreaterThan(0);
      expect(await workers[0]!.stop()).toBe(0);
      expect(workers[0]!.output()).toMatch(/stopping: finishing active jobs[\s\S]*"msg":"stopped"/);
      // nothing it held is left to stall: the run completes well before a lock could expire and be retried
      await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
      expect(await h.engine.queue('cpu').getFailedCount()).toBe(0);
      expect(strip(await rows())).toEqual(strip(reference.slice(0, 3000)));
    } finally {
      await stopAll(workers);
      await h.close();
    }
  });
});
