import path from 'node:path';
import type pg from 'pg';
import type mysql from 'mysql2/promise';
import { runSource, SOURCES_QUEUE, type SourceRunReport } from '@tessera/runtime';
import { startHarness, type Harness } from '../support/harness';
import { spawnWorker, stopWorkers, type WorkerProcess } from '../support/worker-process';
import { connectMysql, connectPg } from '../support/clients';
import { MYSQL_URL, PG_URL, onPort, portOf } from '../support/services';
import { uniqueId } from '../support/names';
import { waitFor } from '../support/wait';
import { freePort, startTcpProxy } from '../support/tcp-proxy';

/**
 * SQL sources over a Postgres and a MariaDB table: rows inserted and updated after the watermark
 * are picked up, pages commit with their watermark (a connection lost mid-run keeps what was
 * committed; the next tick goes on from there), soft-deleted rows are deleted, and a worker
 * SIGKILLed mid-run is resumed by another with no row written twice.
 */
const id = uniqueId();
const PG_TABLE = `src_${id}.items`;
const MY_TABLE = `src_items_${id}`;
let proxyPort: number;
let proxy: { close(): Promise<void> } | undefined;
let src: pg.Client;
let my: mysql.Connection;
let h: Harness;
let env: Record<string, string>;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  proxyPort = await freePort();
  proxy = await startTcpProxy(proxyPort, portOf(PG_URL));
  src = await connectPg();
  await src.query(
    `CREATE SCHEMA src_${id}; CREATE TABLE ${PG_TABLE} (id int PRIMARY KEY, title text NOT NULL, updated_at timestamptz NOT NULL, deleted boolean NOT NULL DEFAULT false)`,
  );
  my = await connectMysql();
  await my.query(`CREATE TABLE ${MY_TABLE} (id int PRIMARY KEY, title varchar(100) NOT NULL, updated_at datetime(6) NOT NULL)`);
  env = {
    SRC_PG_URL: onPort(PG_URL, proxyPort),
    SRC_PG_TABLE: PG_TABLE,
    SRC_MY_URL: MYSQL_URL,
    SRC_MY_TABLE: MY_TABLE,
    SRC_PAGE: '5',
  };
  Object.assign(process.env, env);
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/sourcing'));
  await h.engine.apply(h.def);
});
afterAll(async () => {
  await stopWorkers(workers);
  await h?.close();
  await src?.query(`DROP SCHEMA IF EXISTS src_${id} CASCADE`);
  await src?.end();
  await my?.query(`DROP TABLE IF EXISTS ${MY_TABLE}`);
  await my?.end();
  await proxy?.close();
});

/** Rows id lo..hi, each `k` seconds (and 123 microseconds) after a base, so the watermark has microseconds. */
async function addPg(lo: number, hi: number, base = '2024-01-01') {
  await src.query(
    `INSERT INTO ${PG_TABLE} SELECT k, 'pg ' || k, $1::timestamptz + k * interval '1 second' + interval '123 microseconds' FROM generate_series($2::int, $3::int) k`,
    [base, lo, hi],
  );
}
async function addMy(lo: number, hi: number, base = '2024-01-01') {
  for (let k = lo; k <= hi; k++)
    await my.query(`INSERT INTO ${MY_TABLE} VALUES (?, ?, TIMESTAMP(?) + INTERVAL ? SECOND + INTERVAL 123 MICROSECOND)`, [k, `my ${k}`, base, k]);
}
const tick = (source: string, opts: Parameters<typeof runSource>[3] = {}): Promise<SourceRunReport> =>
  runSource(h.engine, h.def, source, { trigger: 'schedule', ...opts });
const records = async (origin: string) =>
  (await h.engine.store.select('sourcing', 'records', { orderBy: ['id'], limit: 10_000 })).filter((r) => r.origin === origin);
const states = () => h.engine.store.sources;

test('Postgres: inserts and updates after the watermark are picked up, in pages; soft-deleted rows are deleted', async () => {
  await addPg(1, 12);
  expect(await tick('pg_rows')).toMatchObject({ status: 'done', inserted: 12, updated: 0, pages: 3 });
  const wm = (await states().get('sourcing', 'pg_rows')).watermark as { watermark: string; key: string[] };
  expect(wm.key).toEqual(['12']);
  expect(wm.watermark).toMatch(/^2024-01-01 00:00:12\.000123/); // microseconds kept

  await src.query(`UPDATE ${PG_TABLE} SET title = title || ' (edited)', updated_at = '2024-02-01' WHERE id IN (3, 7)`);
  await addPg(13, 15, '2024-01-02');
  expect(await tick('pg_rows')).toMatchObject({ status: 'done', inserted: 3, updated: 2 });
  expect(await tick('pg_rows')).toMatchObject({ status: 'done', inserted: 0, updated: 0, pages: 0 });
  const rows = await records('pg');
  expect(rows).toHaveLength(15);
  expect(rows.find((r) => r.id === 'pg:7')!.title).toBe('pg 7 (edited)');

  await src.query(`UPDATE ${PG_TABLE} SET deleted = true, updated_at = '2024-03-01' WHERE id = 5`);
  expect(await tick('pg_rows')).toMatchObject({ status: 'done', deleted: 1 });
  expect((await records('pg')).map((r) => r.id)).not.toContain('pg:5');

  // backfill --from a watermark (inclusive): rows 3 and 7 again, as updates; the deleted row stays deleted
  expect(await tick('pg_rows', { trigger: 'manual', from: '2024-02-01' })).toMatchObject({ status: 'done', inserted: 0, updated: 2, deleted: 0 });
  expect(((await states().get('sourcing', 'pg_rows')).watermark as { key: string[] }).key).toEqual(['5']);
});

test('MariaDB: inserts and updates after the watermark are picked up', async () => {
  await addMy(1, 7);
  expect(await tick('my_rows')).toMatchObject({ status: 'done', inserted: 7, pages: 2 });
  await my.query(`UPDATE ${MY_TABLE} SET title = 'my 2 (edited)', updated_at = '2024-05-01 00:00:00.5' WHERE id = 2`);
  await addMy(8, 9);
  expect(await tick('my_rows')).toMatchObject({ status: 'done', inserted: 2, updated: 1 });
  const rows = await records('my');
  expect(rows.map((r) => r.title)).toEqual(['my 1', 'my 2 (edited)', 'my 3', 'my 4', 'my 5', 'my 6', 'my 7', 'my 8', 'my 9']);
  expect(await tick('my_rows')).toMatchObject({ status: 'done', inserted: 0, updated: 0 });

  // a tick while a run is going (a run that outlasts its interval) does not start a second one
  await addMy(20, 29, '2024-06-01');
  let overlapping: SourceRunReport | undefined;
  const outer = await tick('my_rows', { onPage: async (t) => void (t.pages === 1 && (overlapping = await tick('my_rows', { tick: 'overlap' }))) });
  expect(outer).toMatchObject({ status: 'done', inserted: 10 });
  expect(overlapping).toMatchObject({ status: 'skipped', error: 'a run of this source is in progress' });
  expect((await states().runs('sourcing', 'my_rows', 10)).find((r) => r.tick === 'overlap')).toMatchObject({ status: 'skipped' });
});

test('a database lost mid-run: the pages before stay committed with their watermark, the error is recorded, the next tick goes on', async () => {
  await addPg(100, 119, '2024-06-01');
  const failed = await tick('pg_rows', {
    // the connection goes after the second page has committed
    onPage: (t) => void (t.pages === 2 && proxy && (proxy.close(), (proxy = undefined))),
  });
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatch(/source query on postgres/);
  expect(failed.inserted).toBe(10);
  const [run] = await states().runs('sourcing', 'pg_rows', 1);
  expect(run).toMatchObject({ status: 'failed', pages: 2, inserted: 10 });
  expect(run!.error).toBeTruthy();
  expect(((await states().get('sourcing', 'pg_rows')).watermark as { key: string[] }).key).toEqual(['109']);

  proxy = await startTcpProxy(proxyPort, 5432);
  expect(await tick('pg_rows')).toMatchObject({ status: 'done', inserted: 10, updated: 0 });
  expect((await records('pg')).filter((r) => Number(String(r.id).slice(3)) >= 100)).toHaveLength(20);
});

test('a worker SIGKILLed mid-run: another resumes the run from its last committed page, writing no row twice', async () => {
  await addPg(1000, 1099, '2024-07-01');
  const before = await h.engine.store.versions('sourcing', 'records');
  const workerEnv = { ...h.cfg.env, ...env, TESSERA_PIPELINES: path.resolve(import.meta.dirname, '../pipelines/sourcing'), SRC_SLOW_MS: '20' };
  const first = await spawnWorker(workerEnv, [SOURCES_QUEUE]);
  workers.push(first);
  await h.engine.queue(SOURCES_QUEUE).add('source', { kind: 'source', pipeline: 'sourcing', source: 'pg_rows' }, { jobId: 'tick-kill', attempts: 1 });
  const running = await waitFor('the run to commit three pages', async () => {
    const [r] = await states().runs('sourcing', 'pg_rows', 1);
    return r?.status === 'running' && r.pages >= 3 && r;
  });
  expect(running).toMatchObject({ status: 'running', tick: 'tick-kill' });
  await first.kill('SIGKILL');
  const second = await spawnWorker(workerEnv, [SOURCES_QUEUE]);
  workers.push(second);
  const finished = await waitFor(
    'the resumed run to end',
    async () => {
      const r = await states().run(running.id);
      return r?.status !== 'running' && r;
    },
    { timeoutMs: 120_000 },
  );
  expect(finished).toMatchObject({ status: 'done', inserted: 100, updated: 0, pages: 20 });
  const rows = (await records('pg')).filter((r) => Number(String(r.id).slice(3)) >= 1000);
  expect(rows).toHaveLength(100);
  const after = await h.engine.store.versions('sourcing', 'records');
  const fresh = after.filter((v) => !before.some((b) => b.version === v.version));
  expect(fresh.reduce((n, v) => n + v.inserts, 0)).toBe(100);
  expect(fresh.reduce((n, v) => n + v.updates, 0)).toBe(0);
  await second.stop();
}, 180_000);
