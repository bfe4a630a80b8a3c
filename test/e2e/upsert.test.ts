import { runPipeline, makeItems, type Harness } from '../support/harness';
import { callCounter, callDelta as delta } from '../support/call-counter';

/**
 * `upsert`: rows whose key is new are inserted, rows whose key exists are updated (only the
 * columns they name), all in one version; dependents of changed columns are recomputed, nothing else.
 */
const counter = callCounter({ setEnv: true });
const counts = counter.counts;

let h: Harness;
const select = async (ids: string[]) => (await h.engine.store.select('shapes', 'items', { orderBy: ['id'] })).filter((r) => ids.includes(r.id as string));

beforeAll(async () => {
  h = await runPipeline();
  await h.engine.insert('shapes', 'items', makeItems(10));
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
});
afterAll(async () => {
  await counter.close();
  await h.close();
});

test('upsert inserts new keys and updates existing ones in one version; only what changed is recomputed', async () => {
  const before = await counts();
  const r = await h.engine.upsert('shapes', 'items', [
    { id: 'item-000001', text: 'changed words' }, // existing: only text changes
    { id: 'item-000002', n: 9 }, // existing: only n changes
    { id: 'new-1', text: 'a new row', n: 1, meta: { tag: 'x' } },
    { id: 'new-1', n: 2 }, // same key again in one request: merged, later values win
  ]);
  expect(r).toMatchObject({ count: 3, inserted: 1, updated: 2, duplicate: false });
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });

  const rows = await select(['item-000001', 'item-000002', 'item-000003', 'new-1']);
  expect(rows.map((x) => [x.id, x.text, x.n, x.upper, x.tagged])).toEqual([
    ['item-000001', 'changed words', 1, 'CHANGED WORDS', 't1#1'],
    ['item-000002', 'row 2 says hello world 2', 9, 'ROW 2 SAYS HELLO WORLD 2', 't2#9'],
    ['item-000003', 'row 3 says hello world 3', 3, 'ROW 3 SAYS HELLO WORLD 3', 'null#3'],
    ['new-1', 'a new row', 2, 'A NEW ROW', 'x#2'],
  ]);
  // item 1: text's dependents (upper, words, combo, shout, shout_len); item 2: n's (tagged, ratio); new-1: everything
  expect(delta(before, await counts())).toEqual({ upper: 2, upper_calls: 1, word_count: 2, combine: 2, shout: 2, str_len: 2, describe: 2, checked_ratio: 2 });

  const versions = await h.engine.store.versions('shapes', 'items');
  expect(versions.find((v) => v.version === r.version)).toMatchObject({ kind: 'upsert', inserts: 1, updates: 2, deletes: 0 });
  // the old row version is still readable
  const [old] = await h.engine.store.select('shapes', 'items', { where: { id: 'item-000001' }, asOf: r.version - 1 });
  expect(old).toMatchObject({ text: 'row 1 says hello world 1' });
});

test('a new key without a required column is refused, naming the row and column; nothing is written', async () => {
  const version = (await h.engine.store.table('shapes', 'items')).version;
  await expect(
    h.engine.upsert('shapes', 'items', [
      { id: 'item-000004', n: 40 },
      { id: 'new-2', n: 5 },
    ]),
  ).rejects.toThrow('items row 2: missing required column text (the key is new, so the row is inserted)');
  await expect(h.engine.upsert('shapes', 'items', [{ text: 'no key' }])).rejects.toThrow('items row 1: the primary key id is missing');
  await expect(h.engine.upsert('shapes', 'items', [{ id: 'x', text: 'a', n: 'seven' }])).rejects.toThrow(/items row 1: .*n/);
  expect((await h.engine.store.table('shapes', 'items')).version).toBe(version);
  expect(await h.engine.store.select('shapes', 'items', { where: { id: 'new-2' } })).toHaveLength(0);
});

test('an upsert repeated with the same requestId applies once; revert undoes it', async () => {
  const rows = [
    { id: 'item-000005', text: 'five again' },
    { id: 'new-3', text: 'three', n: 3, meta: null },
  ];
  const first = await h.engine.upsert('shapes', 'items', rows, { requestId: 'up-1' });
  const again = await h.engine.upsert('shapes', 'items', rows, { requestId: 'up-1' });
  expect(again).toMatchObject({ version: first.version, duplicate: true });
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
  expect(await h.engine.store.revert('shapes', 'items')).toBe(first.version);
  const after = await select(['item-000005', 'new-3']);
  expect(after.map((x) => [x.id, x.text])).toEqual([['item-000005', 'row 5 says hello world 0']]);
});
