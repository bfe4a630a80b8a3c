import type { CatalogTable, CellResult, Store } from '../src';
import { closeStore, openStore, plan } from './store-kit';

/** Cell writes by row version, and the pending ranges backfills and the reconcile are built from. */
let store: Store;
let docs: CatalogTable;
beforeEach(async () => {
  store = await openStore();
  await store.apply(plan);
  docs = await store.table('lib', 'docs');
});
afterEach(() => closeStore(store));

const ALL = { lo: 0, hi: Number.MAX_SAFE_INTEGER };
const loud = async () =>
  (await store.select('lib', 'docs', { columns: ['id', 'loud'], withErrors: true })).map((r) => [r.id, r.loud, r.loud_errortype ?? null]);

test('a batch carries decoded inputs and cell states; outcomes are written into the row version read', async () => {
  await store.insert('lib', 'docs', [
    { id: 1, body: 'one', tag: null },
    { id: 2, body: 'two', tag: null },
  ]);
  const batch = await store.cells.batch(docs, ['loud'], ALL);
  expect(batch.map((r) => [r.values.body, r.values.loud, r.cells.loud])).toEqual([
    ['one', null, 'pending'],
    ['two', null, 'pending'],
  ]);
  await store.cells.write(
    docs,
    ['loud'],
    [
      { rowid: batch[0]!.rowid, vMin: batch[0]!.vMin, cells: { loud: { value: 'ONE' } } },
      { rowid: batch[1]!.rowid, vMin: batch[1]!.vMin, cells: { loud: { error: { type: 'ModelError', message: 'no answer' } } } },
    ],
  );
  expect(await loud()).toEqual([
    [1, 'ONE', null],
    [2, null, 'ModelError'],
  ]);
  expect((await store.status('lib', 'docs')).columns.find((c) => c.column === 'loud')).toEqual({ column: 'loud', done: 1, pending: 0, failed: 1 });
  expect(await store.errors('lib', 'docs')).toEqual([{ column: 'loud', key: { id: 2 }, errortype: 'ModelError', errormsg: 'no answer' }]);
  // a row with nothing pending is not in a batch any more; writing the same outcome twice is harmless
  expect(await store.cells.batch(docs, ['loud'], ALL)).toEqual([]);
  await store.cells.write(docs, ['loud'], [{ rowid: batch[0]!.rowid, vMin: batch[0]!.vMin, cells: { loud: { value: 'ONE' } } }]);
  expect(await loud()).toEqual([
    [1, 'ONE', null],
    [2, null, 'ModelError'],
  ]);
});

test('a stale write (into a row version an update replaced) never lands in the live row', async () => {
  await store.insert('lib', 'docs', [{ id: 1, body: 'one', tag: null }]);
  const [old] = await store.cells.batch(docs, ['loud'], ALL);
  await store.update('lib', 'docs', [{ id: 1, body: 'uno' }]);
  await store.cells.write(docs, ['loud'], [{ rowid: old!.rowid, vMin: old!.vMin, cells: { loud: { value: 'ONE' } } }]);
  expect(await loud()).toEqual([[1, null, null]]);
  const [live] = await store.cells.batch(docs, ['loud'], ALL);
  expect(live).toMatchObject({ rowid: old!.rowid, values: { body: 'uno' }, cells: { loud: 'pending' } });
  expect(live!.vMin).toBeGreaterThan(old!.vMin);
  await store.cells.write(docs, ['loud'], [{ rowid: live!.rowid, vMin: live!.vMin, cells: { loud: { value: 'UNO' } } }]);
  expect(await loud()).toEqual([[1, 'UNO', null]]);
});

test('a row whose cell is absent from a write keeps its state; rows of one write may carry values and errors', async () => {
  await store.insert(
    'lib',
    'docs',
    Array.from({ length: 6 }, (_, i) => ({ id: i, body: `b${i}`, tag: null })),
  );
  const batch = await store.cells.batch(docs, ['loud'], ALL);
  await store.cells.write(
    docs,
    ['loud'],
    batch.map((r, i) => ({
      rowid: r.rowid,
      vMin: r.vMin,
      cells: (i % 3 === 0 ? { loud: { value: `B${i}` } } : i % 3 === 1 ? { loud: { error: { type: 'E', message: `m${i}` } } } : {}) as Record<
        string,
        CellResult
      >,
    })),
  );
  expect(await loud()).toEqual([
    [0, 'B0', null],
    [1, null, 'E'],
    [2, null, null],
    [3, 'B3', null],
    [4, null, 'E'],
    [5, null, null],
  ]);
  // two loud cells, and the six rows' iteration cells (the view `words`)
  expect(await store.cells.pendingCount(docs)).toBe(2 + 6);
});

test('pending ranges: at most `size` pending live rows each, by row version, leaving out excluded versions', async () => {
  const a = await store.insert(
    'lib',
    'docs',
    Array.from({ length: 250 }, (_, i) => ({ id: i, body: `b${i}`, tag: null })),
  );
  const b = await store.insert(
    'lib',
    'docs',
    Array.from({ length: 30 }, (_, i) => ({ id: 1000 + i, body: `c${i}`, tag: null })),
  );
  const count = async (r: { lo: number; hi: number; vMin?: number }) => (await store.cells.batch(docs, ['loud'], r)).length;

  const ranges = await store.cells.pendingRanges(docs, ['loud'], 100);
  expect(await Promise.all(ranges.map(count))).toEqual([100, 100, 80]);
  const ofB = await store.cells.pendingRanges(docs, ['loud'], 100, b.version);
  expect(ofB).toHaveLength(1);
  expect(ofB[0]!.vMin).toBe(b.version);
  expect(await count(ofB[0]!)).toBe(30);
  expect(await Promise.all((await store.cells.pendingRanges(docs, ['loud'], 100, undefined, [a.version])).map(count))).toEqual([30]);

  // computing the first 100 rows leaves two ranges; every cell computed leaves none
  const first = await store.cells.batch(docs, ['loud'], ranges[0]!);
  await store.cells.write(
    docs,
    ['loud'],
    first.map((r) => ({ rowid: r.rowid, vMin: r.vMin, cells: { loud: { value: 'X' } } })),
  );
  expect(await Promise.all((await store.cells.pendingRanges(docs, ['loud'], 100)).map(count))).toEqual([100, 80]);
  expect(await store.pending.inRanges(docs, ['loud'], ranges)).toEqual([false, true, true]);
  const rest = await store.cells.batch(docs, ['loud'], ALL);
  await store.cells.write(
    docs,
    ['loud'],
    rest.map((r) => ({ rowid: r.rowid, vMin: r.vMin, cells: { loud: { value: 'X' } } })),
  );
  expect(await store.cells.pendingRanges(docs, ['loud'], 100)).toEqual([]);
  expect(await store.cells.pendingRanges(docs, ['loud', 'words'], 1000)).toHaveLength(1);
  expect(await store.cells.pendingCount(docs)).toBe(280); // the iteration cells
});

test('written values keep quotes, backslashes, braces, commas and the text NULL (the array parameters are built by hand)', async () => {
  const values = ['say "hi"', 'C:\\path\\', '{a,b}', 'NULL', '', 'tab\tand\nnewline', 'ünï 🎉'];
  await store.insert(
    'lib',
    'docs',
    values.map((_, i) => ({ id: i + 1, body: `b${i}`, tag: null })),
  );
  const batch = await store.cells.batch(docs, ['loud'], ALL);
  await store.cells.write(
    docs,
    ['loud'],
    batch.map((r, i) => ({ rowid: r.rowid, vMin: r.vMin, cells: { loud: { value: values[i] } } })),
  );
  expect(await loud()).toEqual(values.map((v, i) => [i + 1, v, null]));
});

test('pending ranges hold `size` pending rows each, whether the pending rowids run on or have gaps', async () => {
  await store.insert(
    'lib',
    'docs',
    Array.from({ length: 10 }, (_, i) => ({ id: i, body: `b${i}`, tag: null })),
  );
  const count = async (r: { lo: number; hi: number }) => (await store.cells.batch(docs, ['loud'], r)).length;
  const runOn = await store.cells.pendingRanges(docs, ['loud'], 4);
  expect(await Promise.all(runOn.map(count))).toEqual([4, 4, 2]);
  expect(runOn.every((r) => typeof r.lo === 'number' && typeof r.hi === 'number')).toBe(true);
  // compute rows 4 to 6: the pending ones are 1-3 and 7-10
  const all = await store.cells.batch(docs, ['loud'], ALL);
  await store.cells.write(
    docs,
    ['loud'],
    all.slice(3, 6).map((r) => ({ rowid: r.rowid, vMin: r.vMin, cells: { loud: { value: 'X' } } })),
  );
  const gapped = await store.cells.pendingRanges(docs, ['loud'], 3);
  expect(await Promise.all(gapped.map(count))).toEqual([3, 3, 1]);
  expect(gapped.map((r) => r.hi - r.lo)).toEqual([2, 2, 0]);
});

test('a bounded batch stops at its byte budget (counted as stored, without reading the text) and says where the rest begins', async () => {
  // bodies of 10 kB, 10 kB, 30 kB, 10 kB; the one of 30 kB repeats one letter, so Postgres compresses it
  const sizes = [10_000, 10_000, 30_000, 10_000];
  await store.insert(
    'lib',
    'docs',
    sizes.map((n, i) => ({ id: i, body: (i === 2 ? 'a' : `${i}xyzw`).repeat(n / (i === 2 ? 1 : 5)), tag: null })),
  );
  const all = await store.cells.batch(docs, ['loud'], ALL);
  const ids = (rows: { rowid: number }[]) => rows.map((r) => all.findIndex((a) => a.rowid === r.rowid));
  // the rows before a row hold under the budget: it is read
  const first = await store.cells.boundedBatch(docs, ['loud'], ALL, 15_000);
  expect(ids(first.rows)).toEqual([0, 1]);
  expect(first.next).toBe(all[2]!.rowid);
  // the rest, from where it begins: the row of 30 kB counts as 30 kB though it is stored compressed
  const second = await store.cells.boundedBatch(docs, ['loud'], { lo: first.next!, hi: ALL.hi }, 15_000);
  expect(ids(second.rows)).toEqual([2]);
  expect(second.next).toBe(all[3]!.rowid);
  // one row is always read, however large; a batch read whole has nothing after it
  expect(ids((await store.cells.boundedBatch(docs, ['loud'], ALL, 1)).rows)).toEqual([0]);
  expect(await store.cells.boundedBatch(docs, ['loud'], ALL, 1e9)).toEqual({ rows: all, next: null });
  // rows already computed are not pending: they take none of the budget
  await store.cells.write(
    docs,
    ['loud'],
    all.slice(0, 2).map((r) => ({ rowid: r.rowid, vMin: r.vMin, cells: { loud: { value: 'X' } } })),
  );
  const rest = await store.cells.boundedBatch(docs, ['loud'], ALL, 35_000);
  expect(ids(rest.rows)).toEqual([2, 3]);
  expect(rest.next).toBeNull();
});

test("a batch's parts are cut by rows and by stored bytes, without reading the text; rows already computed are in none", async () => {
  // bodies of 10 kB, 10 kB, 30 kB (compressible: counted as 30 kB all the same), 10 kB, 10 kB
  const sizes = [10_000, 10_000, 30_000, 10_000, 10_000];
  await store.insert(
    'lib',
    'docs',
    sizes.map((n, i) => ({ id: i, body: (i === 2 ? 'a' : `${i}xyzw`).repeat(n / (i === 2 ? 1 : 5)), tag: null })),
  );
  const all = await store.cells.batch(docs, ['loud'], ALL);
  const rowids = all.map((r) => r.rowid);
  const range = (a: number, b: number) => ({ lo: rowids[a]!, hi: rowids[b]! });
  // within 25 kB: two rows of 10 kB, the 30 kB row alone (over the budget, but one row is a part), the last two
  expect(await store.cells.parts(docs, ['loud'], ALL, { maxRows: 1000, maxBytes: 25_000 })).toEqual([range(0, 1), range(2, 2), range(3, 4)]);
  // rows per job bound the parts too
  expect(await store.cells.parts(docs, ['loud'], ALL, { maxRows: 2, maxBytes: Number.POSITIVE_INFINITY })).toEqual([range(0, 1), range(2, 3), range(4, 4)]);
  expect(await store.cells.parts(docs, ['loud'], ALL, { maxRows: 1000, maxBytes: 1e9 })).toEqual([range(0, 4)]);
  // each part's rows are read whole within the same budget
  for (const part of await store.cells.parts(docs, ['loud'], ALL, { maxRows: 1000, maxBytes: 25_000 }))
    expect((await store.cells.boundedBatch(docs, ['loud'], part, 25_000)).next).toBeNull();
  // computed rows are not pending: the parts skip them
  await store.cells.write(
    docs,
    ['loud'],
    all.slice(0, 3).map((r) => ({ rowid: r.rowid, vMin: r.vMin, cells: { loud: { value: 'X' } } })),
  );
  expect(await store.cells.parts(docs, ['loud'], ALL, { maxRows: 1000, maxBytes: 25_000 })).toEqual([range(3, 4)]);
  await store.cells.write(
    docs,
    ['loud'],
    all.slice(3).map((r) => ({ rowid: r.rowid, vMin: r.vMin, cells: { loud: { value: 'X' } } })),
  );
  expect(await store.cells.parts(docs, ['loud'], ALL, { maxRows: 1000, maxBytes: 25_000 })).toEqual([]);
});
