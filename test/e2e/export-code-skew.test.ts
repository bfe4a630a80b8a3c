import path from 'node:path';
import type pg from 'pg';
import { reconcile } from '@tessera/runtime';
import { startHarness, type Harness } from '../support/harness';
import { connectPg } from '../support/clients';
import { uniqueName } from '../support/names';
import { openJobs, waitFor, waitForExports } from '../support/wait';
import { skewPipeline } from '../pipelines/export-skew/index';

/**
 * An export applied before the workers run the code that declares it (a deploy still rolling out):
 * their finalize jobs ship the exports they know and skip it, so it is never shipped, and without
 * a write to its table nothing would ship it again. The fleet's reconcile tries it again in full
 * once no finalize of the table is left, spaced as a stuck export's tries are; the first try after
 * the workers have the code ships every row.
 */
const schema = uniqueName('skew');
let h: Harness;
let db: pg.Client;

beforeAll(async () => {
  process.env.SKEW_PG_SCHEMA = schema;
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/export-skew'));
  const deployed = skewPipeline('deployed');
  h.registry.add(deployed);
  await h.engine.apply(deployed);
  await h.startWorkers();
  db = await connectPg();
}, 600_000);
afterAll(async () => {
  await h.close();
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.end();
});

const ids = async (table: string) => (await db.query(`SELECT id FROM ${schema}.${table} ORDER BY id`)).rows.map((r) => r.id);
const exportB = async () => (await h.engine.store.exports.states('skew')).find((e) => e.sink.includes('notes_b'));
const controlIdle = () => waitFor('the control queue to drain', async () => (await openJobs(h.engine, ['control'])) === 0, { timeoutMs: 120_000 });

test('an export the workers lacked when it was applied is shipped by the reconcile once they have it, and not tried every tick meanwhile', async () => {
  await h.engine.insert('skew', 'notes', [
    { id: 'a', body: 'alpha' },
    { id: 'b', body: 'beta' },
  ]);
  await waitForExports(h.engine, 'skew');
  expect(await ids('notes_a')).toEqual(['a', 'b']);

  // applied, but the workers still run the code without notes_b: its full ship skips it
  await h.engine.apply(skewPipeline('applied'));
  await controlIdle();
  expect((await exportB())?.state).toBe('new');

  // a periodic tick tries it (no finalize of the table is left); the workers skip it again
  const periodic = { periodic: { graceMs: 0, stuckRetryMs: 3_600_000 } };
  await db.query(`UPDATE ${h.cfg.schema}.exports SET updated_at = now() - interval '2 hours' WHERE sink LIKE '%notes_b%'`);
  await reconcile(h.engine, 'skew', periodic);
  await controlIdle();
  const tried = await exportB();
  expect(tried?.state).toBe('new');
  expect(Date.now() - tried!.updatedAt!.getTime()).toBeLessThan(3_600_000);

  // deployed: the next tick is not due for an hour, so nothing ships it yet...
  h.registry.add(skewPipeline('applied'));
  await reconcile(h.engine, 'skew', periodic);
  await controlIdle();
  expect((await exportB())?.state).toBe('new');
  // ...and the first tick that is due ships every row
  await db.query(`UPDATE ${h.cfg.schema}.exports SET updated_at = now() - interval '2 hours' WHERE sink LIKE '%notes_b%'`);
  await reconcile(h.engine, 'skew', periodic);
  await controlIdle();
  expect(await ids('notes_b')).toEqual(['a', 'b']);
  expect((await exportB())?.state).toBe('ok');
}, 600_000);
