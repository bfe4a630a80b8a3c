import path from 'node:path';
import type pg from 'pg';
import { startHarness, type Harness } from '../support/harness';
import { connectPg } from '../support/clients';
import { uniqueName } from '../support/names';
import { waitForExports } from '../support/wait';

/**
 * An insert fills the cheap computed columns of its rows itself (synchronous one-row functions over
 * scalars): they are computed once, by the writer, and stage jobs run only for what it left.
 */
const customerSchema = uniqueName('inl_customer');
let h: Harness;
let db: pg.Client;
/** the pipeline's call counts (imported once the environment names the export's schema) */
let calls: Map<string, number>;

beforeAll(async () => {
  process.env.TESSERA_TEST_CUSTOMER_SCHEMA = customerSchema;
  ({ calls } = await import('../pipelines/inlined/index'));
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/inlined'));
  await h.engine.apply(h.def);
  db = await connectPg();
});
afterAll(async () => {
  await h.close();
  await db.query(`DROP SCHEMA IF EXISTS ${customerSchema} CASCADE`);
  await db.end();
});
beforeEach(() => calls.clear());

const events = (from: number, n: number) =>
  Array.from({ length: n }, (_, k) => ({ id: `e${from + k}`, s: `event ${from + k}`, n: from + k === 3 ? null : from + k }));
const statusOf = async (table: string) => Object.fromEntries((await h.engine.store.status('inlined', table)).columns.map((c) => [c.column, c]));

test('an insert writes its cheap cells itself; the workers compute the rest, and the failures of what it left, once', async () => {
  const told: Array<Record<string, number>> = [];
  h.engine.onCellsFilled = (_p, _t, filled) => told.push(filled);
  await h.engine.insert('inlined', 'events', events(0, 20));
  h.engine.onCellsFilled = undefined;
  // no worker has run yet
  const before = await statusOf('events');
  // the cells the insert filled, as the worker's metrics are told of them: what the record holds as done
  expect(told).toHaveLength(1);
  expect(told[0]).toMatchObject({ loud: 20, loud_len: 20, sq: 20, picky: 16 });
  for (const [column, n] of Object.entries(told[0]!)) expect(before[column]).toMatchObject({ done: n });
  expect(before.loud).toMatchObject({ done: 20, pending: 0 });
  expect(before.loud_len).toMatchObject({ done: 20, pending: 0 });
  expect(before.sq).toMatchObject({ done: 20, pending: 0 });
  // 0, 5, 10 and 15 throw: left to the stage, which records why (3 is null: null, no call)
  expect(before.picky).toMatchObject({ done: 16, pending: 4 });
  expect(before.later).toMatchObject({ done: 0, pending: 20 });
  expect(before.after).toMatchObject({ done: 0, pending: 20 });
  expect(before.promised).toMatchObject({ done: 0, pending: 20 });
  const [e7] = await h.engine.store.select('inlined', 'events', { where: { id: 'e7' } });
  expect(e7).toMatchObject({ loud: 'EVENT 7', loud_len: 7, sq: 49, picky: 8, later: null });
  const [e3] = await h.engine.store.select('inlined', 'events', { where: { id: 'e3' } });
  expect(e3).toMatchObject({ sq: null, picky: null }); // a null input gives null without a call

  await h.startWorkers();
  try {
    await h.engine.waitIdle('inlined', { timeoutMs: 60_000 });
  } finally {
    await h.stopWorkers();
  }
  // the stages had cells to compute: shipped, but only a count of its rows says none is left
  const evs = await h.engine.store.table('inlined', 'events');
  expect(await h.engine.store.history.progress(evs, 2)).toEqual({ shipped: true, complete: false, aborted: null });
  const after = await statusOf('events');
  expect(after.picky).toMatchObject({ done: 16, failed: 4, pending: 0 });
  for (const c of ['loud', 'loud_len', 'sq', 'later', 'after', 'promised']) expect(after[c]).toMatchObject({ done: 20, failed: 0, pending: 0 });
  const rows = await h.engine.store.select('inlined', 'events', { withErrors: true });
  const e5 = rows.find((r) => r.id === 'e5')!;
  expect(e5).toMatchObject({
    picky: null,
    picky_errortype: 'CellInputError',
    picky_errormsg: 'n=5 is a multiple of 5',
    after: 'EVENT 5 LATER',
    promised: 'event 5 promised',
  });
  // computed once: by the insert, not again by a stage (3 is null: no call)
  expect(calls.get('len')).toBe(20);
  expect(calls.get('square')).toBe(19);
  // the rows the insert left were called again by their stage, the others not
  expect(calls.get('picky')).toBe(19 + 4);
  // upper: 20 by the insert (loud), 20 by the stage (after)
  expect(calls.get('upper')).toBe(40);
  // once at the insert (which then leaves it to the workers), then once per row by the stage
  expect(calls.get('promised')).toBe(1 + 20);
});

test('grouped ingest requests get their cheap cells from the commit, each request still answered on its own', async () => {
  const outcomes = await h.engine.commitGroup('inlined', 'events', 'insert', [
    { id: 'job:a', idNamesPayload: true, rows: events(100, 3) },
    { id: 'job:b', idNamesPayload: true, rows: [{ id: 'bad', s: 42 }] },
    { id: 'job:c', idNamesPayload: true, rows: events(103, 2) },
  ]);
  expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
  const rows = (await h.engine.store.select('inlined', 'events')).filter((r) => ['e100', 'e101', 'e102', 'e103', 'e104'].includes(r.id as string));
  expect(rows.map((r) => [r.id, r.loud, r.loud_len, r.sq]).sort()).toEqual([
    ['e100', 'EVENT 100', 9, 10000],
    ['e101', 'EVENT 101', 9, 10201],
    ['e102', 'EVENT 102', 9, 10404],
    ['e103', 'EVENT 103', 9, 10609],
    ['e104', 'EVENT 104', 9, 10816],
  ]);
  expect(rows.every((r) => r.later === null)).toBe(true);
});

test('a version whose every cell the insert filled is exported all the same', async () => {
  await h.engine.insert('inlined', 'cheap', [
    { id: 'c1', s: 'one' },
    { id: 'c2', s: 'two' },
  ]);
  expect((await statusOf('cheap')).via).toMatchObject({ done: 2, pending: 0 });
  await h.startWorkers();
  try {
    await waitForExports(h.engine, 'inlined');
  } finally {
    await h.stopWorkers();
  }
  // its finalize recorded that nothing was left to workers: a writer waiting on it reads no rows
  const cheap = await h.engine.store.table('inlined', 'cheap');
  expect(await h.engine.store.history.progress(cheap, 2)).toEqual({ shipped: true, complete: true, aborted: null });
  const { rows } = await db.query(`SELECT id, s, via FROM ${customerSchema}.cheap ORDER BY id`);
  expect(rows).toEqual([
    { id: 'c1', s: 'one', via: 'ONE' },
    { id: 'c2', s: 'two', via: 'TWO' },
  ]);
  expect(calls.get('via')).toBe(2);
});

test('a writer waits for its own version: named as not done while no worker runs, exported when it returns', async () => {
  const { version } = await h.engine.insert('inlined', 'cheap', [{ id: 'c3', s: 'three' }]);
  await expect(h.engine.waitVersion('inlined', 'cheap', version, { timeoutMs: 300 })).rejects.toThrow(
    `inlined.cheap v${version} is not done after 300 ms: its finalize job has not run; are workers running?`,
  );
  await h.startWorkers();
  try {
    await h.engine.waitVersion('inlined', 'cheap', version, { timeoutMs: 60_000 });
    // no other wait: the version's export is in the customer's table when the wait returns
    const { rows } = await db.query(`SELECT id, via FROM ${customerSchema}.cheap WHERE id = 'c3'`);
    expect(rows).toEqual([{ id: 'c3', via: 'THREE' }]);
  } finally {
    await h.stopWorkers();
  }
});
