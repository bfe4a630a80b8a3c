import { startHarness, makeItems, SHAPES } from '../support/harness';
import { connectRedis } from '../support/clients';
import { waitFor } from '../support/wait';

/**
 * A producer that sets no removeOnComplete / removeOnFail (BullMQ's defaults keep every finished
 * job) must not fill Redis when it streams all day: the workers keep at most
 * TESSERA_KEEP_COMPLETED_JOBS completed and TESSERA_KEEP_FAILED_JOBS failed jobs per queue, through
 * the bulk consumer and the regular Worker alike, and every good job is still applied.
 */
test('finished ingest jobs of a producer that said nothing are kept within the bounds; every row is applied', async () => {
  const h = await startHarness(SHAPES, { TESSERA_KEEP_COMPLETED_JOBS: '10', TESSERA_KEEP_FAILED_JOBS: '3' });
  const redis = connectRedis(h.cfg.redisUrl);
  try {
    await h.engine.apply(h.def);
    await h.startWorkers();
    const q = h.engine.ingestQueue();
    const items = makeItems(300);
    const good = items.map((row) => ({ name: 'insert', data: { pipeline: 'shapes', table: 'items', op: 'insert', rows: [row] } }));
    // rows that do not fit the table: each job fails at once, with its reason
    const bad = Array.from({ length: 8 }, (_, i) => ({
      name: 'insert',
      data: { pipeline: 'shapes', table: 'items', op: 'insert', rows: [{ id: `bad-${i}`, n: 'not a number' }] },
    }));
    const jobs: Array<{ name: string; data: Record<string, unknown> }> = [...good];
    bad.forEach((b, k) => jobs.splice(k * 37, 0, b)); // spread among the good ones
    for (let i = 0; i < jobs.length; i += 50) await q.addBulk(jobs.slice(i, i + 50));
    await waitFor('every job finished', async () => {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0);
    });
    await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
    expect(await h.engine.store.select('shapes', 'items', { columns: ['id'] })).toHaveLength(300);

    const counts = await q.getJobCounts('completed', 'failed');
    expect(counts.completed).toBeGreaterThan(0);
    expect(counts.completed).toBeLessThanOrEqual(10);
    expect(counts.failed).toBeGreaterThan(0);
    expect(counts.failed).toBeLessThanOrEqual(3);
    // the removed jobs' hashes are gone too, not just their ids from the sets
    const jobHashes = (await redis.keys(`${h.cfg.queuePrefix}:ingest:*`)).filter((k) => /:ingest:\d+$/.test(k));
    expect(jobHashes.length).toBeLessThanOrEqual(10 + 3);
    const [failed] = await q.getFailed(0, 0);
    expect(failed!.failedReason).toMatch(/bad-\d|not a number|n:/);
  } finally {
    redis.disconnect();
    await h.close();
  }
}, 300_000);
