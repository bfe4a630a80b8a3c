import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { startHarness } from '../support/harness';
import { PG_URL } from '../support/services';
import { pgRows, recordRows } from '../support/converge';
import { superviseFleet, type SupervisedFleet } from '../support/supervised-fleet';
import { openJobs, waitFor } from '../support/wait';

/**
 * A row whose computation kills its worker process (an out-of-memory kill, a native crash), or whose
 * UDF call never answers, fails its own cell and nothing else: the other rows of its batch are computed, no cell is left pending,
 * the customer's tables end up equal to the record, and the workers stop dying on it. Two worker processes are kept running as an orchestrator
 * would (each that dies is replaced), with the fleet's periodic reconcile on.
 */
const POISON = path.resolve(import.meta.dirname, '../pipelines/poison');
// the customer's Postgres schema the pipeline exports to (read when the pipeline module loads)
const customerSchema = `deaths_${Math.random().toString(16).slice(2, 8)}`;
process.env.TESSERA_TEST_CUSTOMER_SCHEMA = customerSchema;
const ROWS = 60;
const KILLERS: Record<number, string> = { 17: 'poison', 29: 'toxic', 41: 'venom' };
const STUCK = 52;
const text = (i: number) => (KILLERS[i] ? `row ${i} is ${KILLERS[i]}` : i === STUCK ? `row ${i} is stuck` : `row ${i} says hello`);

test('rows that kill their worker fail their own cells with WorkerDied, a call that never answers fails its cell with UdfTimeout; every other cell is computed and exported', async () => {
  const h = await startHarness(POISON, {
    TESSERA_RECONCILE_EVERY_MS: '1000',
    TESSERA_RECONCILE_GRACE_MS: '300',
    TESSERA_TEST_CUSTOMER_SCHEMA: customerSchema,
    TESSERA_UDF_TIMEOUT_MS: '3000',
  });
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  let fleet: SupervisedFleet | undefined;
  try {
    await h.engine.apply(h.def);
    fleet = await superviseFleet(h.cfg.env, 2);
    const items = Array.from({ length: ROWS }, (_, i) => ({ id: `i${String(i).padStart(2, '0')}`, text: text(i) }));
    // one ingest job per row, as a producer sends them: the toxic row kills the worker applying its group
    const queue = h.engine.ingestQueue();
    await Promise.all(items.map((row) => queue.add('insert', { pipeline: 'poison', table: 'items', op: 'insert', rows: [row] })));
    await waitFor('every ingest job applied', async () => (await openJobs(h.engine, ['ingest'])) === 0, { timeoutMs: 600_000, everyMs: 500 });
    // none failed (a failure is named with its reason: a bystander's stalls once failed two, see INGEST_MAX_STALLS)
    const failed = await queue.getJobs(['failed']);
    expect(failed.map((j) => `${j.id}: ${j.failedReason} (stalled ${j.stalledCounter} times)`)).toEqual([]);
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: ROWS, failed: 0 });
    await h.engine.waitIdle('poison', { timeoutMs: 600_000 });

    // each killer was refused after killing a worker twice while computed alone (a death marks one such cell per process)
    expect(fleet.deaths).toBeGreaterThanOrEqual(2 * Object.keys(KILLERS).length);
    const rows = await h.engine.store.select('poison', 'items', { withErrors: true, orderBy: ['id'] });
    expect(rows).toHaveLength(ROWS);
    const died = (column: string) =>
      new RegExp(`^the worker process died 2 times while computing column ${column} of row \\d+ alone \\(out of memory, a native crash`);
    for (const [i, row] of rows.entries()) {
      const { text } = items[i]!;
      const ok = { loud: text.toUpperCase(), size: text.length, tag: `#${text.length}`, echo: text };
      // the cell whose computation killed fails, its dependents fail upstream, the row's other cells are computed
      if (i === 17) {
        expect(row).toMatchObject({ ...ok, loud: null, loud_errortype: 'WorkerDied', size: null, size_errortype: 'UpstreamError' });
        expect(row.loud_errormsg).toMatch(died('loud'));
      } else if (i === 29) {
        expect(row).toMatchObject({ ...ok, tag: null, tag_errortype: 'WorkerDied' });
        expect(row.tag_errormsg).toMatch(died('tag'));
      } else if (i === STUCK) {
        expect(row).toMatchObject({
          ...ok,
          echo: null,
          echo_errortype: 'UdfTimeout',
          echo_errormsg: "echo_or_hang gave no result in 3000 ms (its deadline: the UDF's timeoutMs, else TESSERA_UDF_TIMEOUT_MS)",
        });
      } else expect(row).toMatchObject(ok);
    }
    const iterationErrors = await h.engine.store.errors('poison', 'items', { column: 'words' });
    expect(iterationErrors.map((e) => [e.key.id, e.errortype, e.errormsg]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
      ['i41', 'WorkerDied', expect.stringMatching(/^the worker process died 2 times while computing view words of row \d+ alone/)],
      ['i52', 'IteratorTimeout', 'words_or_die gave no row for 3000 ms (after 1 rows; its deadline: TESSERA_UDF_TIMEOUT_MS between rows)'],
    ]);
    const words = await h.engine.store.select('poison', 'words', { columns: ['id', 'word'] });
    expect(words).toHaveLength((ROWS - 2) * 4);
    expect(words.some((w) => w.id === 'i41' || w.id === 'i52')).toBe(false);
    const status = await h.engine.store.status('poison', 'items');
    expect(status.columns.every((c) => c.pending === 0)).toBe(true);

    // what the customer has converges on the record, the refused cells as nulls (exports follow every change)
    const itemColumns = ['id', 'text', 'loud', 'size', 'tag', 'echo'];
    const wordColumns = ['id', 'pos', 'word'];
    // ints arrive from Postgres as bigint strings
    const customerRows = async (table: string, columns: string[]) =>
      (await pgRows(db, `${customerSchema}.${table}`, columns)).map((r) => ({
        ...r,
        ...('size' in r ? { size: r.size === null ? null : Number(r.size) } : {}),
        ...('pos' in r ? { pos: Number(r.pos) } : {}),
      }));
    const same = async (table: string, columns: string[]) =>
      isDeepStrictEqual(await customerRows(table, columns).catch(() => []), await recordRows(h.engine, 'poison', table, columns));
    await waitFor('the customer tables equal to the record', async () => (await same('items', itemColumns)) && (await same('words', wordColumns)), {
      timeoutMs: 300_000,
      everyMs: 500,
    });
    expect(await customerRows('items', itemColumns)).toEqual(await recordRows(h.engine, 'poison', 'items', itemColumns));
    expect(await customerRows('words', wordColumns)).toHaveLength((ROWS - 2) * 4);

    // the fleet is whole and stays so: a new row is computed without another death
    const deathsBefore = fleet.deaths;
    await queue.add('insert', { pipeline: 'poison', table: 'items', op: 'insert', rows: [{ id: 'late', text: 'a late row' }] });
    await waitFor('the late row applied', async () => (await openJobs(h.engine, ['ingest'])) === 0);
    await h.engine.waitIdle('poison', { timeoutMs: 120_000 });
    const [late] = await h.engine.store.select('poison', 'items', { where: { id: 'late' } });
    expect(late).toMatchObject({ loud: 'A LATE ROW', size: 10, tag: '#10', echo: 'a late row' });
    expect(fleet.deaths).toBe(deathsBefore);
  } finally {
    await fleet?.stop();
    await db.query(`DROP SCHEMA IF EXISTS ${customerSchema} CASCADE`).catch(() => undefined);
    await db.end();
    await h.close();
  }
}, 900_000);
