import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { DuckDBInstance } from '@duckdb/node-api';
import { reconcile } from '@tessera/runtime';
import { startHarness, type Harness } from '../support/harness';
import { MYSQL_URL, PG_URL } from '../support/services';
import { runCli } from '../support/cli';
import { settle as settleAll, recordRows, pgRows, myRows, parquetRows } from '../support/converge';
import { convergingPipeline } from '../pipelines/converging/index';

/**
 * The customer's tables and files follow the record after every change: revert of an insert, an
 * update and a delete; `export --full` deleting what the record no longer has; a new export and a
 * new exported column on apply (the target gains the column), a dropped one (opt-in); and an export
 * that cannot proceed shows as stuck in `tessera status` with its reason, then converges once fixed.
 */
const id = Math.random().toString(16).slice(2, 8);
const schema = `conv_${id}`;
const myTable = `conv_${id}_notes`;
let dir: string;
let h: Harness;
let db: pg.Client;
let my: mysql.Connection;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-converge-'));
  Object.assign(process.env, { CONVERGE_PG_SCHEMA: schema, CONVERGE_MY_PREFIX: `conv_${id}`, CONVERGE_DIR: dir });
  db = new pg.Client({
    connectionString: PG_URL,
    types: { getTypeParser: (oid: number, f?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, f as 'text')) } as pg.CustomTypesConfig,
  });
  await db.connect();
  // the customer's own table, without the `shout` column the pipeline exports to it
  await db.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.notes_fixed (id text PRIMARY KEY, body text)`);
  my = await mysql.createConnection({ uri: MYSQL_URL });
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/converging'));
  // built after the environment names this test's targets (the module's default was built at import)
  const base = convergingPipeline('base');
  h.registry.add(base);
  await h.engine.apply(base);
  await h.startWorkers();
}, 600_000);
afterAll(async () => {
  await h.close();
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.end();
  await my.query(`DROP TABLE IF EXISTS \`${myTable}\``);
  await my.end();
  await rm(dir, { recursive: true, force: true });
}, 600_000);

const settle = () => settleAll(h.engine, 'converging');
const COLS = ['id', 'body', 'stars', 'shout'];

/** Every export equals the record's live rows. */
async function expectConverged(cols = COLS) {
  const record = await recordRows(h.engine, 'converging', 'notes', cols);
  expect(await pgRows(db, `${schema}.notes`, cols)).toEqual(record);
  expect(await myRows(my, myTable, cols)).toEqual(record);
  expect(await parquetRows(path.join(dir, 'notes'), ['id', 'body', 'shout'])).toEqual(
    await recordRows(h.engine, 'converging', 'notes', ['id', 'body', 'shout']),
  );
  return record;
}

test('revert of an insert, an update and a delete reaches Postgres, MariaDB and the Parquet files', async () => {
  await h.engine.insert('converging', 'notes', [
    { id: 'a', body: 'alpha', stars: 1 },
    { id: 'b', body: 'beta', stars: 2 },
    { id: 'c', body: 'gamma', stars: null },
  ]);
  await settle();
  expect((await expectConverged()).map((r) => r.id)).toEqual(['a', 'b', 'c']);

  await h.engine.insert('converging', 'notes', [{ id: 'd', body: 'delta', stars: 4 }]);
  await settle();
  expect((await pgRows(db, `${schema}.notes`, ['id'])).map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']);
  await h.engine.revert('converging', 'notes');
  await settle();
  expect((await expectConverged()).map((r) => r.id)).toEqual(['a', 'b', 'c']);

  await h.engine.update('converging', 'notes', [{ id: 'b', body: 'beta, edited', stars: 20 }]);
  await settle();
  expect((await pgRows(db, `${schema}.notes`, COLS)).find((r) => r.id === 'b')).toEqual({ id: 'b', body: 'beta, edited', stars: 20, shout: 'BETA, EDITED' });
  await h.engine.revert('converging', 'notes');
  await settle();
  expect((await expectConverged()).find((r) => r.id === 'b')).toEqual({ id: 'b', body: 'beta', stars: 2, shout: 'BETA' });

  await h.engine.delete('converging', 'notes', [{ id: 'c' }]);
  await settle();
  expect((await expectConverged()).map((r) => r.id)).toEqual(['a', 'b']);
  await h.engine.revert('converging', 'notes');
  await settle();
  expect((await expectConverged()).map((r) => r.id)).toEqual(['a', 'b', 'c']);
}, 600_000);

test('export --full deletes the target rows the record no longer has; Parquet gets a fresh snapshot', async () => {
  await db.query(`INSERT INTO ${schema}.notes (id, body, shout) VALUES ('zz', 'junk', 'JUNK')`);
  await my.query(`INSERT INTO \`${myTable}\` (id, body, shout) VALUES ('zz', 'junk', 'JUNK')`);
  // a stray file with an old sequence, as a deleted row's would be
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  await duck.run(`COPY (SELECT 'zz' AS id, 'junk' AS body, 'JUNK' AS shout) TO '${dir}/notes/part-0000000000-stray.parquet' (FORMAT parquet)`);
  duck.closeSync();
  const snapshotsBefore = (await readdir(path.join(dir, 'notes'))).filter((f) => f.startsWith('snapshot-')).length;
  await h.engine.exportFull('converging', 'notes');
  await settle();
  expect((await expectConverged()).map((r) => r.id)).toEqual(['a', 'b', 'c']);
  expect((await readdir(path.join(dir, 'notes'))).filter((f) => f.startsWith('snapshot-')).length).toBe(snapshotsBefore + 1);
}, 600_000);

test('an export that cannot proceed shows as stuck with its reason in tessera status, and converges once the target is fixed', async () => {
  const states = await h.engine.store.exports.states('converging');
  const fixed = states.find((e) => e.sink === `postgres:${schema}.notes_fixed`)!;
  expect(fixed.state).toBe('stuck');
  expect(fixed.reason).toContain('column shout is missing');
  expect(states.filter((e) => e.sink !== fixed.sink).map((e) => e.state)).toEqual(['ok', 'ok', 'ok']);
  const status = await runCli(['status', 'converging'], h.cfg.env);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain(`export postgres:${schema}.notes_fixed: STUCK: export target postgres`);
  expect(status.stdout).toContain('column shout is missing');
  expect(status.stdout).toMatch(new RegExp(`export postgres:${schema}\\.notes: ok`));
  expect((await db.query(`SELECT count(*)::int AS n FROM ${schema}.notes_fixed`)).rows[0].n).toBe(0);

  // the fleet's ticks space out the tries of a stuck export: one tried moments ago is left alone
  // (each ship takes the next sequence number, so an unchanged one means no ship)
  await reconcile(h.engine, 'converging', { periodic: { graceMs: 0, stuckRetryMs: 3_600_000 } });
  await settle();
  const again = (await h.engine.store.exports.states('converging')).find((e) => e.sink === fixed.sink)!;
  expect([again.state, again.seq]).toEqual(['stuck', fixed.seq]);

  // the customer adds the column; the fleet's reconcile ships the stuck export again, in full
  await db.query(`ALTER TABLE ${schema}.notes_fixed ADD COLUMN shout text`);
  await reconcile(h.engine, 'converging');
  await settle();
  expect((await h.engine.store.exports.states('converging')).find((e) => e.sink === fixed.sink)!.seq).toBeGreaterThan(fixed.seq);
  expect(await pgRows(db, `${schema}.notes_fixed`, ['id', 'body', 'shout'])).toEqual(
    await recordRows(h.engine, 'converging', 'notes', ['id', 'body', 'shout']),
  );
  expect((await h.engine.store.exports.states('converging')).every((e) => e.state === 'ok')).toBe(true);
}, 600_000);

test('apply: a new exported column is added to the targets and filled for existing rows; a new export ships existing rows', async () => {
  const more = convergingPipeline('more');
  h.registry.add(more); // the workers run the new code
  await h.engine.apply(more);
  await settle();
  const cols = [...COLS, 'size'];
  const record = await expectConverged(cols);
  expect(record.map((r) => r.size)).toEqual([5, 4, 5]); // alpha, beta, gamma
  const type = await db.query(`SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'notes' AND column_name = 'size'`, [
    schema,
  ]);
  expect(type.rows[0].data_type).toBe('bigint');
  expect(await pgRows(db, `${schema}.notes_new`, ['id', 'body', 'shout'])).toEqual(await recordRows(h.engine, 'converging', 'notes', ['id', 'body', 'shout']));
  // the apply's backfill (of `size`) shipped the new export in full, once its cells were computed:
  // no full ship of its own beside it, which would have shipped the rows a second time
  const fresh = (await h.engine.store.exports.states('converging')).find((e) => e.sink.includes('notes_new'))!;
  expect({ seq: fresh.seq, state: fresh.state, held: fresh.held, needsFull: fresh.needsFull }).toEqual({ seq: 1, state: 'ok', held: 0, needsFull: false });

  // later writes reach the new column and the new export as well
  await h.engine.insert('converging', 'notes', [{ id: 'e', body: 'epsilon', stars: 5 }]);
  await settle();
  expect((await expectConverged(cols)).find((r) => r.id === 'e')).toEqual({ id: 'e', body: 'epsilon', stars: 5, shout: 'EPSILON', size: 7 });
  expect((await pgRows(db, `${schema}.notes_new`, ['id'])).map((r) => r.id)).toEqual(['a', 'b', 'c', 'e']);
}, 600_000);

test('apply: a column no longer exported is dropped from a target that opted in, and kept in one that did not', async () => {
  const less = convergingPipeline('less');
  h.registry.add(less);
  await h.engine.apply(less);
  await settle();
  const pgCols = (
    await db.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'notes' ORDER BY ordinal_position`, [schema])
  ).rows.map((r) => r.column_name);
  expect(pgCols).toEqual(['id', 'body', 'shout', 'size']);
  const [myCols] = await my.query<mysql.RowDataPacket[]>(
    `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`,
    [myTable],
  );
  expect(myCols.map((r) => r.c)).toEqual(['id', 'body', 'stars', 'shout', 'size']);
  await h.engine.update('converging', 'notes', [{ id: 'a', body: 'alpha two' }]);
  await settle();
  const cols = ['id', 'body', 'shout', 'size'];
  const record = await recordRows(h.engine, 'converging', 'notes', cols);
  expect(await pgRows(db, `${schema}.notes`, cols)).toEqual(record);
  expect(await myRows(my, myTable, cols)).toEqual(record);
  expect(record.find((r) => r.id === 'a')).toEqual({ id: 'a', body: 'alpha two', shout: 'ALPHA TWO', size: 9 });
}, 600_000);
