import path from 'node:path';
import type pg from 'pg';
import type mysql from 'mysql2/promise';
import { runPipeline, type Harness } from '../support/harness';
import { uniqueName } from '../support/names';
import { waitForExports } from '../support/wait';
import { flakyTargets, type FlakyTargets } from '../support/flaky-targets';

/**
 * Export targets that go down: the customer's Postgres and MariaDB are reached through TCP proxies
 * that the test closes (dropping open connections) and reopens. Rows written while they are down
 * are computed, their exports wait and retry with backoff for longer than the job's attempts would
 * allow, and when the targets are back every insert, update and delete lands, exactly once.
 */
const name = uniqueName('flaky');
let flaky: FlakyTargets;
let h: Harness;
let pgDb: pg.Client;
let myDb: mysql.Connection;

const up = () => flaky.up();
const down = () => flaky.down();

beforeAll(async () => {
  flaky = await flakyTargets(name);
  ({ pgDb, myDb } = flaky);
  // two attempts only: an export that waited on its attempts would be given up after one retry
  h = await runPipeline(path.resolve(import.meta.dirname, '../pipelines/exporting-flaky'), { TESSERA_JOB_ATTEMPTS: '2', TESSERA_EXPORT_RETRY_MAX_MS: '800' });
});
afterAll(async () => {
  await h?.close();
  await flaky?.close();
});

type Row = { id: string; body: string; stars: number | null; shout: string };
async function targets(): Promise<{ pg: Row[]; my: Row[] }> {
  const p = await pgDb.query(`SELECT id, body, stars::int AS stars, shout FROM ${name}.notes ORDER BY id`);
  const [m] = await myDb.query<mysql.RowDataPacket[]>(`SELECT id, body, CAST(stars AS SIGNED) AS stars, shout FROM \`${name}_notes\` ORDER BY id`);
  return { pg: p.rows as Row[], my: m.map((r) => ({ id: r.id, body: r.body, stars: r.stars === null ? null : Number(r.stars), shout: r.shout })) };
}

const control = () => h.engine.queue('control');

/** Cells computed and every finalize job gone (done), none failed. */
async function settle() {
  await waitForExports(h.engine, 'exporting-flaky');
  expect((await control().getFailed()).map((j) => `${j.id}: ${j.failedReason}`)).toEqual([]);
}

/** Wait until each of the finalize jobs of these versions has retried its export at least `n` times. */
async function retried(versions: number[], n: number) {
  for (;;) {
    const jobs = await control().getJobs(['delayed', 'active', 'waiting']);
    const tries = versions.map((v) => Number(jobs.find((j) => j?.data?.kind === 'finalize' && j.data.version === v)?.data.exportRetries ?? 0));
    if (tries.every((t) => t >= n)) return;
    const failed = await control().getFailed();
    if (failed.length) throw new Error(`an export job gave up while the target was down: ${failed.map((j) => `${j.id}: ${j.failedReason}`).join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('exports wait for targets that are down, then land every change exactly once', async () => {
  const v1 = await h.engine.insert('exporting-flaky', 'notes', [
    { id: 'a', body: 'alpha', stars: 1 },
    { id: 'b', body: 'beta', stars: null },
  ]);
  await settle();
  const before = [
    { id: 'a', body: 'alpha', stars: 1, shout: 'ALPHA' },
    { id: 'b', body: 'beta', stars: null, shout: 'BETA' },
  ];
  expect(await targets()).toEqual({ pg: before, my: before });

  await down();
  const v2 = await h.engine.insert('exporting-flaky', 'notes', [
    { id: 'c', body: 'gamma', stars: 3 },
    { id: 'd', body: 'delta', stars: 4 },
  ]);
  const v3 = await h.engine.update('exporting-flaky', 'notes', [{ id: 'a', body: 'alpha, edited' }]);
  const v4 = await h.engine.delete('exporting-flaky', 'notes', [{ id: 'b' }]);
  expect([v2.version, v3.version, v4.version]).toEqual([v1.version + 1, v1.version + 2, v1.version + 3]);
  await h.engine.waitIdle('exporting-flaky', { timeoutMs: 60_000 }); // computing does not need the targets
  await retried([v2.version, v3.version, v4.version], 3); // more tries than the job has attempts
  expect(await targets()).toEqual({ pg: before, my: before }); // nothing reached them meanwhile

  await up();
  await settle();
  const after = [
    { id: 'a', body: 'alpha, edited', stars: 1, shout: 'ALPHA, EDITED' },
    { id: 'c', body: 'gamma', stars: 3, shout: 'GAMMA' },
    { id: 'd', body: 'delta', stars: 4, shout: 'DELTA' },
  ];
  expect(await targets()).toEqual({ pg: after, my: after });
});

test('one target down does not hold back the other', async () => {
  await flaky.down('mysql');
  const v = await h.engine.insert('exporting-flaky', 'notes', [{ id: 'e', body: 'epsilon', stars: 5 }]);
  await h.engine.waitIdle('exporting-flaky', { timeoutMs: 60_000 });
  await retried([v.version], 2);
  const mid = await targets();
  expect(mid.pg.map((r) => r.id)).toEqual(['a', 'c', 'd', 'e']);
  expect(mid.my.map((r) => r.id)).toEqual(['a', 'c', 'd']);

  await down();
  await up();
  await settle();
  const final = await targets();
  expect(final.my).toEqual(final.pg);
  expect(final.my.map((r) => r.id)).toEqual(['a', 'c', 'd', 'e']);
});
