import { Redis } from 'ioredis';
import { startHarness, makeItems } from '../support/harness';
import { testConfig } from '../support/env';

/**
 * `upsert`: rows whose key is new are inserted, rows whose key exists are updated (only the
 * columns they name), all in one version; dependents of changed columns are recomputed, nothing else.
 */
const counterKey = `${testConfig().queuePrefix}:upsert-calls`;
process.env.TESSERA_TEST_COUNTER = counterKey;
const redis = new Redis('redis://127.0.0.1:6379');
const counts = async () => Object.fromEntries(Object.entries(await redis.hgetall(counterKey)).map(([k, v]) => [k, Number(v)]));
const delta = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(
    Object.keys({ ...a, ...b })
      .map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );

let h: Awaited<ReturnType<typeof startHarness>>;
const select = async (ids: string[]) => (await h.engine.store.select('shapes', 'items', { orderBy: ['id'] })).filter((r) => ids.includes(r.id as string));

beforeAll(async () => {
  h = await startHarness();
  await h.engine.apply(h.def);
  await h.startWorkers();
  await h.engine.insert('shapes', 'items', makeItems(10));
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
});
afterAll(async () => {
  await redis.del(counterKey);
  redis.disconnect();
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
