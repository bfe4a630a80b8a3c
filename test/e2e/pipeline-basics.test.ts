import { makeItems, runPipeline, type Harness } from '../support/harness';

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
});
