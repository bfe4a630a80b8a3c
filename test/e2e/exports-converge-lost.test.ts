import path from 'node:path';
import type pg from 'pg';
import type mysql from 'mysql2/promise';
import { startHarness, type Harness } from '../support/harness';
import { flakyTargets, type FlakyTargets } from '../support/flaky-targets';

/**
 * Exports whose finalize job is gone still converge, with nobody running anything by hand: a
 * finalize that gave up on a target down longer than TESSERA_EXPORT_RETRY_FOR_MS, and one Redis
 * lost while it waited, are found by the fleet's periodic reconcile (their versions were never
 * shipped) and shipped once the target is back. And a revert that hands its version number to the
 * next write does not make that write's jobs collide with the reverted one's.
 */

const name = `lost_${Math.random().toString(16).slice(2, 8)}`;
let flaky: FlakyTargets;
let h: Harness;
let pgDb: pg.Client;
let myDb: mysql.Connection;

const up = () => flaky.up();
const down = () => flaky.down();
const control = () => h.engine.queue('control');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  flaky = await flakyTargets(name);
  ({ pgDb, myDb } = flaky);
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/exporting-flaky'), {
    TESSERA_JOB_ATTEMPTS: '1',
    TESSERA_EXPORT_RETRY_FOR_MS: '1500',
    TESSERA_EXPORT_RETRY_MAX_MS: '300',
    TESSERA_RECONCILE_EVERY_MS: '1000',
    TESSERA_RECONCILE_GRACE_MS: '300',
  });
  await h.engine.apply(h.def);
  await h.startWorkers();
}, 120_000);
afterAll(async () => {
  await h?.close();
  await flaky?.close();
});

type Row = { id: string; body: string; shout: string };
async function targets(): Promise<{ pg: Row[]; my: Row[] }> {
  const p = await pgDb.query(`SELECT id, body, shout FROM ${name}.notes ORDER BY id`).catch(() => ({ rows: [] }));
  const [m] = await myDb.query<mysql.RowDataPacket[]>(`SELECT id, body, shout FROM \`${name}_notes\` ORDER BY id`).catch(() => [[]] as never);
  return { pg: p.rows as Row[], my: (m as mysql.RowDataPacket[]).map((r) => ({ id: r.id, body: r.body, shout: r.shout })) };
}

/** Wait until both targets hold exactly `rows` (the fleet converges by itself), or fail naming what they hold. */
async function converged(rows: Row[], timeoutMs = 180_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const t = await targets();
    if (JSON.stringify(t) === JSON.stringify({ pg: rows, my: rows })) return;
    if (Date.now() > end) expect(t).toEqual({ pg: rows, my: rows });
    await sleep(250);
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('a finalize that gave up on a target that stayed down, and one Redis lost, are shipped by the fleet once the target is back', async () => {
  await h.engine.insert('exporting-flaky', 'notes', [{ id: 'a', body: 'alpha' }]);
  await converged([{ id: 'a', body: 'alpha', shout: 'ALPHA' }]);

  // gave up: the finalize fails for good while the target is down
  await down();
  const v2 = await h.engine.insert('exporting-flaky', 'notes', [{ id: 'b', body: 'beta' }]);
  await until('the finalize to give up', async () => (await control().getFailed()).some((j) => j?.data?.kind === 'finalize' && j.data.version === v2.version));
  expect((await h.engine.store.exports.states('exporting-flaky')).every((e) => e.state === 'waiting')).toBe(true);
  await up();
  await converged([
    { id: 'a', body: 'alpha', shout: 'ALPHA' },
    { id: 'b', body: 'beta', shout: 'BETA' },
  ]);

  // lost: Redis loses the finalize while it waits for the target
  await down();
  const v3 = await h.engine.update('exporting-flaky', 'notes', [{ id: 'a', body: 'alpha, edited' }]);
  const waiting = async () => (await control().getJobs(['delayed'])).find((j) => j?.data?.kind === 'finalize' && j.data.version === v3.version);
  await until('the finalize to wait for the target', async () => !!(await waiting()));
  await (await waiting())!.remove();
  await up();
  await converged([
    { id: 'a', body: 'alpha, edited', shout: 'ALPHA, EDITED' },
    { id: 'b', body: 'beta', shout: 'BETA' },
  ]);
  await until('the exports to be ok', async () => (await h.engine.store.exports.states('exporting-flaky')).every((e) => e.state === 'ok'));
}, 600_000);

test('a revert hands its version number to the next write: each gets its own jobs, and the exports follow the record', async () => {
  await h.stopWorkers();
  const first = await h.engine.insert('exporting-flaky', 'notes', [{ id: 'x', body: 'x-ray' }]);
  await h.engine.revert('exporting-flaky', 'notes');
  const second = await h.engine.insert('exporting-flaky', 'notes', [{ id: 'y', body: 'yankee' }]);
  expect(second.version).toBe(first.version);
  // the reverted write's finalize is still queued: the new write's must not be taken for it
  const finals = (await control().getJobs(['waiting', 'waiting-children', 'delayed', 'prioritized'])).filter(
    (j) => j?.data?.kind === 'finalize' && j.data.version === first.version && !j.data.full,
  );
  expect(new Set(finals.map((j) => j.id)).size).toBe(2);
  await h.startWorkers();
  await converged([
    { id: 'a', body: 'alpha, edited', shout: 'ALPHA, EDITED' },
    { id: 'b', body: 'beta', shout: 'BETA' },
    { id: 'y', body: 'yankee', shout: 'YANKEE' },
  ]);
}, 600_000);
