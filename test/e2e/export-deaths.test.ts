import path from 'node:path';
import pg from 'pg';
import { startHarness } from '../support/harness';
import { PG_URL } from '../support/services';
import { pgRows, recordRows } from '../support/converge';
import { superviseFleet, type SupervisedFleet } from '../support/supervised-fleet';
import { openJobs, waitFor } from '../support/wait';

/**
 * An export whose sink kills the worker process shipping a row (a native crash in its driver, an
 * out-of-memory kill) no longer crash-loops the fleet: after two ships of it died in a row it is
 * stuck, with that reason, and ships of later versions leave it alone; the table's other export
 * and every other job go on. A full export someone asks for, once the cause is gone, ships it
 * again. Two worker processes are kept running as an orchestrator would, with the fleet's
 * periodic reconcile on (its spaced retry of stuck exports is set beyond the test).
 */
const LETHAL = path.resolve(import.meta.dirname, '../pipelines/lethal-export');
const customerSchema = `ship_deaths_${Math.random().toString(16).slice(2, 8)}`;
process.env.TESSERA_TEST_CUSTOMER_SCHEMA = customerSchema;
const COLUMNS = ['id', 'text', 'size'];
const notes = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: `n${String(from + i).padStart(2, '0')}`, text: `note ${from + i}` }));

test('an export whose ships kill the worker is refused after two deaths in a row, the rest of the fleet goes on, and a full export ships it once fixed', async () => {
  const h = await startHarness(LETHAL, {
    TESSERA_RECONCILE_EVERY_MS: '1000',
    TESSERA_RECONCILE_GRACE_MS: '300',
    TESSERA_STUCK_EXPORT_RETRY_MS: '3600000',
    TESSERA_TEST_CUSTOMER_SCHEMA: customerSchema,
  });
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  let fleet: SupervisedFleet | undefined;
  const customer = async (table: string) =>
    (await pgRows(db, `${customerSchema}.${table}`, COLUMNS).catch(() => [])).map((r) => ({ ...r, size: r.size === null ? null : Number(r.size) }));
  const record = () => recordRows(h.engine, 'lethal', 'notes', COLUMNS);
  const fragile = async () => (await h.engine.store.exports.states('lethal')).find((e) => e.sink === 'fragile')!;
  const queue = h.engine.ingestQueue();
  const write = async (op: 'insert' | 'delete', rows: Array<Record<string, string>>) => {
    await queue.add(op, { pipeline: 'lethal', table: 'notes', op, rows });
    await waitFor(`the ${op} applied`, async () => (await openJobs(h.engine, ['ingest'])) === 0, { timeoutMs: 300_000, everyMs: 300 });
    await h.engine.waitIdle('lethal', { timeoutMs: 300_000 });
  };
  const exportedAll = async (table: string) => JSON.stringify(await customer(table)) === JSON.stringify(await record());
  try {
    await h.engine.apply(h.def);
    fleet = await superviseFleet(h.cfg.env, 2);

    await write('insert', notes(0, 10));
    await waitFor('both exports hold the first rows', async () => (await exportedAll('notes')) && (await exportedAll('notes_fragile')), {
      timeoutMs: 300_000,
      everyMs: 500,
    });
    expect(fleet.deaths).toBe(0);

    // a row the fragile sink dies on: its ship kills a worker, the job's next run too, then the export is refused
    await write('insert', [...notes(10, 4), { id: 'n99', text: 'a lethal note' }]);
    await waitFor('the fragile export refused', async () => (await fragile()).state === 'stuck', { timeoutMs: 600_000, everyMs: 500 });
    const refused = await fragile();
    expect(refused.reason).toMatch(/^export fragile: the worker process died during 2 ships of it in a row \(out of memory, a native crash in the sink/);
    expect(fleet.deaths).toBeGreaterThanOrEqual(2);
    await waitFor('the other export holds every row', () => exportedAll('notes'), { timeoutMs: 300_000, everyMs: 500 });
    expect(await customer('notes')).toHaveLength(15);

    // later versions ship to the other export and leave the refused one alone: no worker dies
    const deathsAtRefusal = fleet.deaths;
    await write('insert', notes(20, 3));
    await waitFor('the other export holds the new rows', () => exportedAll('notes'), { timeoutMs: 300_000, everyMs: 500 });
    expect(await customer('notes')).toHaveLength(18);
    expect(await customer('notes_fragile')).toEqual((await record()).filter((r) => Number(String(r.id).slice(1)) < 10));
    expect(await fragile()).toMatchObject({ state: 'stuck', reason: refused.reason });
    expect(fleet.deaths).toBe(deathsAtRefusal);

    // the cause goes (the row is deleted) and someone asks for a full export: the refused export ships again
    await write('delete', [{ id: 'n99' }]);
    expect(fleet.deaths).toBe(deathsAtRefusal);
    await h.engine.exportFull('lethal', 'notes', { sinks: ['fragile'] });
    await waitFor('the fragile export shipped in full', async () => (await fragile()).state === 'ok' && (await exportedAll('notes_fragile')), {
      timeoutMs: 300_000,
      everyMs: 500,
    });
    expect(await customer('notes_fragile')).toHaveLength(17);
    await waitFor('the other export follows the delete', () => exportedAll('notes'), { timeoutMs: 300_000, everyMs: 500 });
    expect(fleet.deaths).toBe(deathsAtRefusal);
    // no version is left for the reconcile to ship again, and no finalize job failed
    expect(await h.engine.store.history.unshipped(await h.engine.store.table('lethal', 'notes'), 0)).toEqual([]);
    expect(await h.engine.queue('control').getJobCounts('failed')).toEqual({ failed: 0 });
  } finally {
    await fleet?.stop();
    await db.query(`DROP SCHEMA IF EXISTS ${customerSchema} CASCADE`).catch(() => undefined);
    await db.end();
    await h.close();
  }
}, 900_000);
