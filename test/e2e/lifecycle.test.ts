import { definePipeline, defineUdf, t } from '@tessera/core';
import { runPipeline, startHarness, makeItems, SHAPES, type Harness } from '../support/harness';
import { callCounter, callDelta as delta } from '../support/call-counter';
import { waitFor } from '../support/wait';

/**
 * The life of a table, with in-process workers: backfill on add, cascade on update, delete,
 * error cells and errors-only recompute, versions and revert, dropped columns, UDF version
 * changes and skew, abort, and the ingest queue. UDF calls are counted to prove what ran.
 */
const counter = callCounter({ setEnv: true });
const counts = counter.counts;

let shapes: typeof import('../pipelines/shapes/index');
let h: Harness;

beforeAll(async () => {
  shapes = await import('../pipelines/shapes/index');
  h = await runPipeline();
  await h.engine.insert('shapes', 'items', makeItems(300));
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
});
afterAll(async () => {
  await counter.close();
  delete process.env.TESSERA_TEST_HEAL;
  await h.close();
});

test('adding a computed column backfills exactly the existing rows', async () => {
  const before = await counts();
  const v2 = shapes.shapesPipeline({ extraColumn: true });
  h.registry.add(v2);
  const changes = await h.engine.apply(v2);
  expect(changes).toEqual([expect.objectContaining({ table: 'items', kind: 'add_column', columns: ['text_len'], backfill: true })]);
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
  expect(delta(before, await counts())).toEqual({ str_len: 300 });
  const rows = await h.engine.store.select('shapes', 'items', { columns: ['text', 'text_len'] });
  expect(rows.every((r) => r.text_len === (r.text as string).length)).toBe(true);
  // applying the same definition again changes nothing
  expect(await h.engine.apply(v2)).toEqual([]);
});

test('updating a base column recomputes only its dependents, only for those rows', async () => {
  const before = await counts();
  const r = await h.engine.update('shapes', 'items', [
    { id: 'item-000001', text: 'brand new words here' },
    { id: 'item-000002', text: 'two words' },
  ]);
  expect(r.reset.sort()).toEqual(['combo', 'shout', 'shout_len', 'text_len', 'upper', 'words']);
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
  expect(delta(before, await counts())).toEqual({ upper: 2, upper_calls: 1, word_count: 2, combine: 2, shout: 2, str_len: 4 });
  const [row] = await h.engine.store.select('shapes', 'items', { where: { id: 'item-000001' } });
  expect(row).toMatchObject({ text: 'brand new words here', upper: 'BRAND NEW WORDS HERE', words: 4, shout_len: 21, text_len: 20, tagged: 't1#1' });
  // the old row version is still readable
  const [old] = await h.engine.store.select('shapes', 'items', { where: { id: 'item-000001' }, asOf: r.version - 1 });
  expect(old).toMatchObject({ text: 'row 1 says hello world 1', upper: 'ROW 1 SAYS HELLO WORLD 1' });
});

test('errors are cells; errors-only recompute retries just the failed ones', async () => {
  const errors = await h.engine.store.errors('shapes', 'items', { column: 'ratio', limit: 1000 });
  expect(errors).toHaveLength(43); // n = 0, 7, ..., 294
  expect(errors[1]).toEqual({ column: 'ratio', key: { id: 'item-000007' }, errortype: 'CellInputError', errormsg: 'n=7 is a multiple of 7' });
  const before = await counts();
  process.env.TESSERA_TEST_HEAL = '1';
  try {
    const r = await h.engine.recompute('shapes', 'items', { columns: ['ratio'], errorsOnly: true });
    expect(r.cells).toBe(43);
    await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
  } finally {
    delete process.env.TESSERA_TEST_HEAL;
  }
  expect(delta(before, await counts())).toEqual({ checked_ratio: 43 });
  const status = await h.engine.store.status('shapes', 'items');
  // n = 0 now yields 1/0 = Infinity, which is no storable float: still a cell error, with a new reason
  expect(status.columns.find((c) => c.column === 'ratio')).toEqual({ column: 'ratio', done: 299, pending: 0, failed: 1 });
  const [stillFailing] = await h.engine.store.errors('shapes', 'items', { column: 'ratio' });
  expect(stillFailing).toEqual({
    column: 'ratio',
    key: { id: 'item-000000' },
    errortype: 'CellInputError',
    errormsg: 'column checked_ratio result: expected a number, got Infinity',
  });
  const [r7] = await h.engine.store.select('shapes', 'items', { where: { id: 'item-000007' }, columns: ['ratio'] });
  expect(r7!.ratio).toBeCloseTo(1 / 7);
});

test('deletes, versions with counts, reading as of a version, and revert', async () => {
  const ins = await h.engine.insert('shapes', 'items', makeItems(14, 1000));
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
  const del = await h.engine.delete('shapes', 'items', [{ id: 'item-000003' }, { id: 'item-001000' }]);
  expect(del.count).toBe(2);
  const versions = await h.engine.store.versions('shapes', 'items');
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  expect(byVersion.get(ins.version)).toMatchObject({ kind: 'insert', inserts: 14, errors: 2 }); // n = 1001, 1008
  expect(byVersion.get(del.version)).toMatchObject({ kind: 'delete', deletes: 2 });
  expect(versions[0]).toMatchObject({ version: 1, kind: 'create_table' });
  expect(await h.engine.store.select('shapes', 'items', { where: { id: 'item-000003' } })).toHaveLength(0);
  expect(await h.engine.store.select('shapes', 'items', { where: { id: 'item-000003' }, asOf: del.version - 1 })).toHaveLength(1);
  expect(await h.engine.store.select('shapes', 'items', { asOf: ins.version - 1 })).toHaveLength(300);

  expect(await h.engine.store.revert('shapes', 'items')).toBe(del.version); // undo the delete
  expect(await h.engine.store.select('shapes', 'items', { where: { id: 'item-000003' } })).toHaveLength(1);
  expect(await h.engine.store.revert('shapes', 'items')).toBe(ins.version); // undo the insert
  expect(await h.engine.store.select('shapes', 'items')).toHaveLength(300);
  // the latest version now is the errors-only recompute, which changed no rows: not revertible, and it says so
  await expect(h.engine.store.revert('shapes', 'items')).rejects.toThrow(
    /the latest version \(\d+, recompute\) is not an insert, update or delete; only those can be reverted/,
  );
});

test('a changed UDF version is refused unless recompute is asked for; then the column and its dependents recompute', async () => {
  const v3 = shapes.shapesPipeline({ extraColumn: true, upperVersion: '2' });
  await expect(h.engine.apply(v3)).rejects.toThrow(/pipeline shapes, table items, column upper: UDF version changed \(upper@1 -> upper@2\).*--recompute/);
  const before = await counts();
  h.registry.add(v3);
  const changes = await h.engine.apply(v3, { recompute: true });
  expect(changes).toEqual([expect.objectContaining({ kind: 'recompute', columns: ['upper', 'combo', 'shout', 'shout_len'] })]);
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
  const d = delta(before, await counts());
  expect(d).toMatchObject({ upper: 300, combine: 300, shout: 300, str_len: 300 });
  expect(d.word_count).toBeUndefined();
});

test('dropping a column from the definition drops it', async () => {
  const v4 = shapes.shapesPipeline({ extraColumn: true, upperVersion: '2', dropTagged: true });
  h.registry.add(v4);
  const changes = await h.engine.apply(v4);
  expect(changes).toEqual([expect.objectContaining({ kind: 'drop_column', columns: ['tagged'] })]);
  await expect(h.engine.store.select('shapes', 'items', { columns: ['tagged'] })).rejects.toThrow(/has no column tagged/);
});

test('a worker whose UDF version differs from the catalog refuses the job with a clear error', async () => {
  // the catalog now records upper@2; a worker still running upper@1 code must not compute it
  const stale = await startHarness(SHAPES, { TESSERA_SCHEMA: h.cfg.schema, TESSERA_QUEUE_PREFIX: h.cfg.queuePrefix });
  await h.stopWorkers();
  await stale.startWorkers();
  try {
    await h.engine.insert('shapes', 'items', makeItems(5, 2000));
    const failed = (await waitFor('a job to fail', async () => (await h.engine.queue('cpu').getFailed(0, 0))[0])).failedReason;
    expect(failed).toMatch(/UDF version skew: column items\.upper was applied with upper@2, but this worker has upper@1/);
    const status = await h.engine.store.status('shapes', 'items');
    expect(status.columns.find((c) => c.column === 'upper')!.pending).toBe(5); // nothing computed with the wrong code
  } finally {
    await stale.close(true);
    await h.startWorkers();
  }
  // workers with the right code pick the cells up after reconcile
  const { reconcile } = await import('@tessera/runtime');
  await reconcile(h.engine, 'shapes');
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
});

test('ingest queue: a bad payload fails alone with a clear reason; a repeated request applies once', async () => {
  const q = h.engine.ingestQueue();
  const bad = await q.add('insert', { pipeline: 'shapes', table: 'items', rows: 'not rows' });
  const badRow = await q.add('insert', { pipeline: 'shapes', table: 'items', rows: [{ id: 'x1', text: 'ok', n: 'seven' }] });
  const good = await q.add('insert', { pipeline: 'shapes', table: 'items', rows: [{ id: 'ingest-1', text: 'from a queue', n: 3 }], requestId: 'req-1' });
  const again = await q.add('insert', { pipeline: 'shapes', table: 'items', rows: [{ id: 'ingest-1', text: 'from a queue', n: 3 }], requestId: 'req-1' });
  const settle = async (id: string) => {
    for (;;) {
      const state = await q.getJobState(id);
      if (state === 'completed' || state === 'failed') {
        const job = (await q.getJob(id))!; // read after the state settled, so its reason is there
        return { state, reason: job.failedReason, value: job.returnvalue };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  expect(await settle(bad.id!)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^invalid ingest payload: rows: .*expected array/i) });
  expect(await settle(badRow.id!)).toMatchObject({
    state: 'failed',
    reason: 'insert into shapes.items rejected: items row 1: column n: expected an integer, got string "seven"',
  });
  // two jobs carry one requestId: whichever runs first inserts, the other finds it applied
  const [first, second] = [await settle(good.id!), await settle(again.id!)];
  expect([first.state, second.state]).toEqual(['completed', 'completed']);
  expect([first.value.duplicate, second.value.duplicate].sort()).toEqual([false, true]);
  expect(first.value.version).toBe(second.value.version);
  await h.engine.waitIdle('shapes', { timeoutMs: 60_000 });
  const rows = await h.engine.store.select('shapes', 'items', { where: { id: 'ingest-1' }, columns: ['upper'] });
  expect(rows).toEqual([{ upper: 'FROM A QUEUE' }]);
  expect(await h.engine.store.select('shapes', 'items', { where: { id: 'x1' } })).toEqual([]);
});

test("onError: 'abort' stops the version's work with a clear error", async () => {
  const failing = defineUdf({
    name: 'strict_inverse',
    version: '1',
    params: [t.int()],
    returns: t.float(),
    fn: ([n]) => {
      if (n === 0) throw new RangeError('division by zero');
      return 1 / n;
    },
  });
  const def = definePipeline('strict', (p) => {
    const nums = p.table('nums', { id: t.int().primaryKey(), n: t.int() });
    nums.compute('inv', failing(nums.n), { onError: 'abort' });
  });
  h.registry.add(def);
  await h.engine.apply(def);
  const ok = await h.engine.insert('strict', 'nums', [
    { id: 1, n: 2 },
    { id: 2, n: 4 },
  ]);
  await h.engine.waitVersion('strict', 'nums', ok.version, { timeoutMs: 30_000 });
  expect((await h.engine.store.select('strict', 'nums', { orderBy: ['id'] })).map((r) => r.inv)).toEqual([0.5, 0.25]);
  const bad = await h.engine.insert('strict', 'nums', [
    { id: 3, n: 0 },
    { id: 4, n: 5 },
  ]);
  await h.engine.waitIdle('strict', { timeoutMs: 30_000 }); // returns: an aborted version's cells are not awaited
  const versions = await h.engine.store.versions('strict', 'nums');
  expect(versions.find((v) => v.version === bad.version)!.aborted).toMatch(/column inv failed on row \d+: RangeError: division by zero/);
  expect(versions.find((v) => v.version === ok.version)!.aborted).toBeNull();
  // a writer waiting on the version is told it will not be computed, and why
  await expect(h.engine.waitVersion('strict', 'nums', bad.version, { timeoutMs: 30_000 })).rejects.toThrow(
    new RegExp(`^strict\\.nums v${bad.version} was aborted: column inv failed on row \\d+: RangeError: division by zero`),
  );
  await expect(h.engine.waitVersion('strict', 'nums', bad.version + 50)).rejects.toThrow(`strict.nums v${bad.version + 50} has no record`);
  const rows = await h.engine.store.select('strict', 'nums', { withErrors: true, orderBy: ['id'] });
  expect(rows.slice(0, 2).map((r) => r.inv)).toEqual([0.5, 0.25]);
  expect(rows[2]).toMatchObject({ id: 3, inv: null, inv_errortype: 'RangeError' });
});
