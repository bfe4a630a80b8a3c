import { makeItems, runPipeline, type Harness } from '../support/harness';
import shapes from '../pipelines/shapes/index';

describe('a pipeline applied, fed and computed by in-process workers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await runPipeline();
  });
  afterAll(() => h.close());

  test('every computed column gets its value; failures become error cells', async () => {
    await h.engine.insert('shapes', 'items', makeItems(250));
    await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
    const rows = await h.engine.store.select('shapes', 'items', { withErrors: true });
    expect(rows).toHaveLength(250);
    const r7 = rows.find((r) => r.id === 'item-000007')!;
    expect(r7).toMatchObject({
      upper: 'ROW 7 SAYS HELLO WORLD 2',
      words: 6,
      combo: { head: 'ROW', words: 6 },
      shout: 'ROW 7 SAYS HELLO WORLD 2!',
      shout_len: 25,
      tagged: 't3#7',
      ratio: null,
    });
    expect(r7.ratio_errortype).toBe('CellInputError');
    expect(r7.ratio_errormsg).toBe('n=7 is a multiple of 7');
    const r3 = rows.find((r) => r.id === 'item-000003')!;
    expect(r3.tagged).toBe('null#3'); // null JSON path is passed to a UDF that accepts null
    expect(r3.ratio).toBeCloseTo(1 / 3);
    const status = await h.engine.store.status('shapes', 'items');
    expect(status.columns.find((c) => c.column === 'ratio')).toEqual({ column: 'ratio', done: 250 - 36, pending: 0, failed: 36 });
  });

  test("a JSON column's zod schema in the code checks writes: a row that does not fit is refused whole, naming row, column and problem", async () => {
    const [good, bad] = makeItems(2, 900);
    await expect(h.engine.insert('shapes', 'items', [good!, { ...bad!, meta: { tag: 42 } }])).rejects.toThrow(/items row 2: .*meta.*tag/);
    expect(await h.engine.store.select('shapes', 'items', { where: { id: good!.id } })).toEqual([]);
    await expect(h.engine.update('shapes', 'items', [{ id: 'item-000001', meta: { tag: ['x'] } }])).rejects.toThrow(/items row 1: .*meta/);
  });

  test('the typed client writes, computes and reads as the string API does', async () => {
    const items = h.engine.table(shapes.items);
    await items.insert([{ id: 'typed-1', text: 'typed rows', n: 4, meta: { tag: 'ty' } }]);
    await items.update([{ id: 'typed-1', text: 'typed rows again' }]);
    await items.upsert([{ id: 'typed-2', text: 'new key', n: 8 }]);
    await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
    // `tagged` and `ratio` are added in the statement form (conditionally), so only the chained columns are typed
    const rows = await items.select({ columns: ['id', 'upper', 'words', 'shout_len'], where: { id: 'typed-1' } });
    expect(rows).toEqual([{ id: 'typed-1', upper: 'TYPED ROWS AGAIN', words: 3, shout_len: 17 }]);
    const [both] = await items.select({ columns: ['shout'], where: { id: 'typed-2' }, withErrors: true });
    expect(both).toEqual({ shout: 'NEW KEY!', shout_errortype: null, shout_errormsg: null });
    await items.delete([{ id: 'typed-1' }, { id: 'typed-2' }]);
    expect(await items.select({ where: { id: 'typed-1' } })).toEqual([]);
  });
});
