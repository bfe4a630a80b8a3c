import { startHarness, makeItems, SHAPES } from '../support/harness';
import { spawnWorker } from '../support/worker-process';
import { waitFor } from '../support/wait';

/**
 * An ingest job holds a producer's rows and nothing else does: one that its workers keep dying
 * under (killed by other work they held, which a fresh process claims again with it) must still be
 * applied, not failed as "stalled more than allowable limit" after BullMQ's usual 5 stalls.
 */
const KILLS = 7;

test(`an ingest job whose worker is killed ${KILLS} times while holding it is applied once, and its row computed`, async () => {
  const h = await startHarness(SHAPES);
  const workers: Array<Awaited<ReturnType<typeof spawnWorker>>> = [];
  try {
    await h.engine.apply(h.def);
    const q = h.engine.ingestQueue();
    const [row] = makeItems(1, 500);
    const job = await q.add('insert', { pipeline: 'shapes', table: 'items', op: 'insert', rows: [row] });
    // a worker whose group waits a minute for company: it holds the job until it is killed
    const holding = { ...h.cfg.env, TESSERA_INGEST_WINDOW_MS: '60000', TESSERA_INGEST_BUSY_WINDOW_MS: '60000' };
    for (let kill = 0; kill < KILLS; kill++) {
      const w = await spawnWorker(holding);
      workers.push(w);
      // held by this process: active again, with one more stall for each process killed before
      await waitFor(
        `the job held after ${kill} stalls`,
        async () => {
          const j = (await q.getJob(job.id!))!;
          const state = await j.getState();
          if (state === 'failed') throw new Error(`the job failed after ${j.stalledCounter} stalls: ${j.failedReason}`);
          return j.stalledCounter === kill && state === 'active';
        },
        { timeoutMs: 120_000, everyMs: 200 },
      );
      await w.kill('SIGKILL');
    }
    workers.push(await spawnWorker(h.cfg.env));
    await waitFor('the job finished', async () => ['completed', 'failed'].includes(await (await q.getJob(job.id!))!.getState()), { timeoutMs: 120_000 });
    const done = (await q.getJob(job.id!))!;
    expect([await done.getState(), done.failedReason ?? null, done.stalledCounter]).toEqual(['completed', null, KILLS]);
    await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
    const rows = await h.engine.store.select('shapes', 'items', { columns: ['id', 'upper'] });
    expect(rows).toEqual([{ id: row!.id, upper: row!.text.toUpperCase() }]);
  } finally {
    await Promise.all(workers.map((w) => w.kill('SIGKILL').catch(() => undefined)));
    await h.close();
  }
}, 600_000);
