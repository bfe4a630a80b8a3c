import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import * as lancedbApi from '@lancedb/lancedb';
import type pg from 'pg';
import { runPipeline, type Harness } from '../support/harness';
import { connectPg } from '../support/clients';
import { uniqueName } from '../support/names';
import { waitForExports } from '../support/wait';
import { reconcile } from '@tessera/runtime';
import { tempDir } from '../support/temp-dir';

/**
 * Exports run by the workers as the last job of each version's DAG: inserts and updates upsert,
 * deletes delete, `--full` re-ships, and running any of it twice changes nothing in the target.
 */
const customerSchema = uniqueName('customer');
const dir = tempDir('tessera-exports-');
let h: Harness;
let db: pg.Client;

beforeAll(async () => {
  process.env.TESSERA_TEST_CUSTOMER_SCHEMA = customerSchema;
  process.env.TESSERA_TEST_EXPORT_DIR = dir;
  h = await runPipeline(path.resolve(import.meta.dirname, '../pipelines/exporting'));
  db = await connectPg();
});
afterAll(async () => {
  await h.close();
  await db.query(`DROP SCHEMA IF EXISTS ${customerSchema} CASCADE`);
  await db.end();
});

const target = async () => (await db.query(`SELECT id, body, stars::int AS stars, shout, embedding FROM ${customerSchema}.notes ORDER BY id`)).rows;
/** The LanceDB copy, read with LanceDB's own API: id, shout and the vector column's type. */
async function lance() {
  const conn = await lancedbApi.connect(path.join(dir, 'lancedb'));
  try {
    const tbl = await conn.openTable('notes');
    const type = String((await tbl.schema()).fields.find((f) => f.name === 'embedding')!.type);
    const rows = (await tbl.query().toArray()).map((r) => `${r.id}:${r.shout}`).sort();
    tbl.close();
    return { type, rows };
  } finally {
    conn.close();
  }
}
const settle = () => waitForExports(h.engine, 'exporting');

test('an insert is exported with its computed columns; a second insert only adds its rows', async () => {
  await h.engine.insert('exporting', 'notes', [
    { id: 'a', body: 'first note', stars: 3 },
    { id: 'b', body: 'second', stars: null },
  ]);
  await settle();
  const rows = await target();
  expect(rows.map((r) => [r.id, r.body, r.stars, r.shout])).toEqual([
    ['a', 'first note', 3, 'FIRST NOTE'],
    ['b', 'second', null, 'SECOND'],
  ]);
  expect(rows[0].embedding).toHaveLength(384); // real[] here: this Postgres has no pgvector
  const files1 = (await readdir(path.join(dir, 'notes'))).filter((f) => f.endsWith('.parquet'));
  expect(files1).toHaveLength(1);

  await h.engine.insert('exporting', 'notes', [{ id: 'c', body: 'third', stars: 5 }]);
  await settle();
  expect((await target()).map((r) => r.id)).toEqual(['a', 'b', 'c']);
  expect((await readdir(path.join(dir, 'notes'))).filter((f) => f.startsWith('part-'))).toHaveLength(2); // one part per version
  expect(await lance()).toEqual({ type: 'FixedSizeList[384]<Float32>', rows: ['a:FIRST NOTE', 'b:SECOND', 'c:THIRD'] });
});

test('updates upsert, deletes delete, and a full export re-ships without duplicating', async () => {
  await h.engine.update('exporting', 'notes', [{ id: 'a', body: 'first note, edited' }]);
  await settle();
  expect((await target()).find((r) => r.id === 'a')).toMatchObject({ body: 'first note, edited', shout: 'FIRST NOTE, EDITED', stars: 3 });

  await h.engine.delete('exporting', 'notes', [{ id: 'b' }]);
  await settle();
  expect((await target()).map((r) => r.id)).toEqual(['a', 'c']);
  expect((await lance()).rows).toEqual(['a:FIRST NOTE, EDITED', 'c:THIRD']); // the update upserted, the delete deleted
  expect((await readdir(path.join(dir, 'notes'))).filter((f) => f.startsWith('delete-'))).toHaveLength(1); // file sinks record deletes
  // the Parquet files are a log: the latest version of each key, unless a later delete holds it, is the table
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const rebuilt = await duck.runAndReadAll(`
    WITH parts AS (SELECT id, body, shout, regexp_extract(filename, 'part-(\\d+)-', 1)::int AS v FROM read_parquet('${dir}/notes/part-*.parquet', filename = true)),
         dels AS (SELECT id, regexp_extract(filename, 'delete-(\\d+)-', 1)::int AS v FROM read_parquet('${dir}/notes/delete-*.parquet', filename = true)),
         latest AS (SELECT * FROM parts QUALIFY row_number() OVER (PARTITION BY id ORDER BY v DESC) = 1)
    SELECT id, body, shout FROM latest l WHERE NOT EXISTS (SELECT 1 FROM dels d WHERE d.id = l.id AND d.v > l.v) ORDER BY id`);
  duck.closeSync();
  expect(rebuilt.getRows()).toEqual([
    ['a', 'first note, edited', 'FIRST NOTE, EDITED'],
    ['c', 'third', 'THIRD'],
  ]);
  const kept = async () => (await db.query(`SELECT id, body FROM ${customerSchema}.notes_kept ORDER BY id`)).rows.map((r) => `${r.id}:${r.body}`);
  expect(await kept()).toEqual(['a:first note, edited', 'b:second', 'c:third']); // propagateDeletes: false keeps b

  await db.query(`DELETE FROM ${customerSchema}.notes`); // the customer lost the table's contents
  await h.engine.exportFull('exporting', 'notes');
  await settle();
  await h.engine.exportFull('exporting', 'notes');
  await settle();
  const rows = await target();
  expect(rows.map((r) => [r.id, r.shout])).toEqual([
    ['a', 'FIRST NOTE, EDITED'],
    ['c', 'THIRD'],
  ]);
  expect(await kept()).toEqual(['a:first note, edited', 'b:second', 'c:third']); // a full export does not delete there either
});

test('a full export to one named sink re-ships to that sink only', async () => {
  await db.query(`DELETE FROM ${customerSchema}.notes`);
  await db.query(`DELETE FROM ${customerSchema}.notes_kept`);
  await h.engine.exportFull('exporting', 'notes', { sinks: [`postgres:${customerSchema}.notes`] });
  await settle();
  expect((await target()).map((r) => r.id)).toEqual(['a', 'c']);
  expect((await db.query(`SELECT count(*)::int AS n FROM ${customerSchema}.notes_kept`)).rows[0].n).toBe(0);
});

test('reconcile with exports re-ships a table whose export job was lost with Redis, though no cell is pending', async () => {
  await db.query(`DELETE FROM ${customerSchema}.notes`); // as if the finalize job never ran
  expect((await reconcile(h.engine, 'exporting')).every((r) => r.enqueued === 0)).toBe(true);
  await settle();
  expect(await target()).toEqual([]);
  await reconcile(h.engine, 'exporting', { exports: true });
  await settle();
  expect((await target()).map((r) => r.id)).toEqual(['a', 'c']);
});
