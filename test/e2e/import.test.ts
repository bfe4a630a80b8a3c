import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Field, Float32, List, Table, Utf8, Int64, tableToIPC, vectorFromArray } from 'apache-arrow';
import { importFile } from '@tessera/runtime';
import { runPipeline, type Harness } from '../support/harness';
import { runCli } from '../support/cli';
import { tempDir } from '../support/temp-dir';

/**
 * `tessera import` and `importFile`: files written by an independent writer (DuckDB; Arrow IPC by
 * apache-arrow's writer, since DuckDB needs a downloaded extension for it) land in a table with
 * their types mapped, in batches, one version each; a value that does not fit stops the import
 * with the file, row and column named; a re-run with the same request id finishes what a failed
 * run started without inserting anything twice.
 */
const PIPELINE = path.resolve(import.meta.dirname, '../pipelines/importing');
const dir = tempDir('tessera-import-');
let h: Harness;
let duck: DuckDBConnection;
const N = 5000;

beforeAll(async () => {
  h = await runPipeline(PIPELINE);
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  // i = 2999 (row 3000) holds a value that is not an integer in the "bad" copy only
  const select = (bad: boolean) => `
    SELECT 'item-' || lpad(i::varchar, 5, '0') AS id,
           ${bad ? `CASE WHEN i = 2999 THEN 'lots' ELSE i::varchar END` : 'i::varchar'} AS n,
           i / 4.0 AS score, i % 2 = 0 AS ok,
           TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 1 SECOND AS at,
           json_object('k', i) AS meta,
           [i::float, 0.5, -1.0]::FLOAT[] AS emb,
           CASE WHEN i % 3 = 0 THEN NULL ELSE 'note, "quoted" ' || i END AS note,
           'not a column of the table' AS unused
      FROM range(${N}) t(i) ORDER BY i`;
  await duck.run(`COPY (${select(false)}) TO '${dir}/items.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
  await duck.run(`COPY (${select(true)}) TO '${dir}/bad.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
  await duck.run(`COPY (${select(false).replace("'item-'", "'csv-'")} LIMIT 50) TO '${dir}/items.csv' (FORMAT csv, HEADER)`);
  await duck.run(`COPY (${select(false).replace("'item-'", "'json-'")} LIMIT 50) TO '${dir}/items.jsonl' (FORMAT json)`);
});
afterAll(async () => {
  duck?.closeSync();
  await h?.close();
});

const cli = (args: string[]) => runCli(args, h.cfg.env);
const count = async (prefix: string) =>
  (await h.engine.store.select('importing', 'items', { columns: ['id'] })).filter((r) => String(r.id).startsWith(prefix)).length;
const row = async (id: string) => (await h.engine.store.select('importing', 'items', { limit: 100_000 })).find((r) => r.id === id);

/** What DuckDB wrote for row i, as the table holds it. */
const expected = (prefix: string, i: number) => ({
  id: `${prefix}-${String(i).padStart(5, '0')}`,
  n: i,
  score: i / 4,
  ok: i % 2 === 0,
  at: new Date(Date.UTC(2024, 0, 1) + i * 1000),
  meta: { k: i },
  emb: [i, 0.5, -1],
  note: i % 3 === 0 ? null : `note, "quoted" ${i}`,
  loud: `${prefix.toUpperCase()}-${String(i).padStart(5, '0')}`,
});

test('a bad value stops the import naming file, row and column; a re-run of the fixed file with the same request id finishes it', async () => {
  const failed = await cli(['import', 'importing', 'items', `${dir}/bad.parquet`, '--batch-size', '700', '--request-id', 'load-1']);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain(`import ${dir}/bad.parquet: row 3000: column n: expected an integer, got string "lots"`);
  expect(await count('item-')).toBe(4 * 700); // the four batches before the bad row committed

  const r = await cli(['import', 'importing', 'items', `${dir}/items.parquet`, '--batch-size', '700', '--request-id', 'load-1']);
  expect(r.stderr).toBe(
    `\rimporting.items: 700 row(s), 1 batch(es)${[2, 3, 4, 5, 6, 7, 8].map((b) => `\rimporting.items: ${Math.min(b * 700, N)} row(s), ${b} batch(es)`).join('')}\n`,
  );
  expect(r.stdout).toMatch(
    /^importing\.items: imported 5000 row\(s\) in 8 batch\(es\) \(v\d+-v\d+\); 4 batch\(es\) already applied by an earlier run with this request id; file columns not in the table, not imported: unused\n$/,
  );
  expect(r.code).toBe(0);
  expect(await count('item-')).toBe(N);

  const again = await cli(['import', 'importing', 'items', `${dir}/items.parquet`, '--batch-size', '700', '--request-id', 'load-1']);
  expect(again.stdout).toContain('8 batch(es) already applied');
  expect(await count('item-')).toBe(N);

  await h.engine.waitIdle('importing', { timeoutMs: 60_000 }); // the computed column ran on every imported row
  for (const i of [0, 699, 700, 2047, 2048, 2999, 4999]) expect(await row(expected('item', i).id)).toEqual(expected('item', i));
});

test('CSV, JSONL and Arrow IPC through the client library; a missing column and a wrong length are refused by name', async () => {
  for (const [file, prefix] of [
    [`${dir}/items.csv`, 'csv'],
    [`${dir}/items.jsonl`, 'json'],
  ] as const) {
    const r = await importFile(h.engine, 'importing', 'items', file, { batchSize: 20 });
    expect(r).toMatchObject({ rows: 50, batches: 3, alreadyApplied: 0, ignoredColumns: ['unused'] });
  }
  const arrow = new Table({
    id: vectorFromArray(['arrow-00000', 'arrow-00001'], new Utf8()),
    n: vectorFromArray([0n, 1n], new Int64()),
    emb: vectorFromArray([[0, 0.5, -1], null], new List(new Field('item', new Float32(), false))),
  });
  await writeFile(`${dir}/items.arrow`, tableToIPC(arrow, 'file'));
  expect(await importFile(h.engine, 'importing', 'items', `${dir}/items.arrow`)).toMatchObject({ rows: 2, batches: 1, ignoredColumns: [] });

  await h.engine.waitIdle('importing', { timeoutMs: 60_000 });
  for (const i of [0, 1, 2, 49]) {
    expect(await row(expected('csv', i).id)).toEqual(expected('csv', i));
    expect(await row(expected('json', i).id)).toEqual(expected('json', i));
  }
  expect(await row('arrow-00001')).toEqual({
    id: 'arrow-00001',
    n: 1,
    score: null,
    ok: null,
    at: null,
    meta: null,
    emb: null,
    note: null,
    loud: 'ARROW-00001',
  });
  expect((await row('arrow-00000'))?.emb).toEqual([0, 0.5, -1]);

  await writeFile(`${dir}/no-n.csv`, 'id,score\nx,1\n');
  await expect(importFile(h.engine, 'importing', 'items', `${dir}/no-n.csv`)).rejects.toThrow(
    `import ${dir}/no-n.csv: column n is missing (the file has id, score)`,
  );
  await writeFile(`${dir}/short.jsonl`, '{"id":"j1","n":1}\n{"id":"j2","n":2,"emb":[1,2]}\n');
  await expect(importFile(h.engine, 'importing', 'items', `${dir}/short.jsonl`)).rejects.toThrow(
    `import ${dir}/short.jsonl: row 2: column emb: expected an array of length 3, got an array of length 2`,
  );
  expect(await row('j1')).toBeUndefined(); // the batch holding the bad row is not inserted
  const usage = await cli(['import', 'importing', 'items']);
  expect(usage.code).toBe(1);
  expect(usage.stderr).toContain('usage: tessera import <pipeline> <table> <file>');
  const badFlag = await cli(['import', 'importing', 'items', `${dir}/items.csv`, '--format', 'xlsx']);
  expect(badFlag.stderr).toContain('--format: Invalid option');
});
