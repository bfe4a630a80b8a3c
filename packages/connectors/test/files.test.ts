import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetFiles, arrowFiles, jsonlFiles, csvFiles, readRows, ImportError, type FileSink } from '@tessera/connectors';
import { chunkRows, chunkSchema } from './support/schema';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const schema = chunkSchema(8);
const rows = [
  ...chunkRows(20, { dim: 8 }),
  { id: 'nulls', pos: 0, text: null, score: null, meta: null, at: null, frame: null, embedding: null },
  { id: 'empty', pos: 0, text: '', score: 0, meta: [], at: new Date(0), frame: 'x.png', embedding: [0, 0, 0, 0, 0, 0, 0, 0] },
];
const sorted = <R extends Record<string, unknown>>(rs: R[]) =>
  [...rs].sort((a, b) => String(a.id).localeCompare(String(b.id)) || Number(a.pos) - Number(b.pos));

async function exportTo(sink: FileSink, sub: string) {
  await sink.prepare(schema);
  await sink.upsert(schema, rows);
  return path.join(dir, sub, schema.source);
}

test('Parquet is read back by DuckDB: list<float> embeddings, JSON, UTC timestamps, nulls vs empties', async () => {
  const out = await exportTo(parquetFiles({ destination: path.join(dir, 'pq') }), 'pq');
  const files = await readdir(out);
  expect(files).toHaveLength(1);
  expect(files[0]).toMatch(/^part-[0-9a-f]{32}\.parquet$/);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const types = await conn.runAndReadAll(`select column_name, column_type from (describe select * from read_parquet('${out}/*.parquet'))`);
    expect(Object.fromEntries(types.getRows() as Array<[string, string]>)).toEqual({
      id: 'VARCHAR',
      pos: 'BIGINT',
      text: 'VARCHAR',
      score: 'DOUBLE',
      meta: 'JSON',
      at: 'TIMESTAMP WITH TIME ZONE',
      frame: 'VARCHAR',
      embedding: 'FLOAT[]',
    });
    const res = await conn.runAndReadAll(
      `select id, pos::int as pos, text, score, meta::varchar as meta, epoch_ms("at")::bigint::varchar as at, frame, embedding::double[] as embedding from read_parquet('${out}/*.parquet') order by id, pos`,
    );
    const got = res.getRowObjectsJson();
    const want = sorted(rows).map((r) => ({
      ...r,
      meta: r.meta === null ? null : JSON.stringify(r.meta),
      at: r.at === null ? null : String(r.at.getTime()),
    }));
    expect(got).toEqual(want);
  } finally {
    conn.closeSync();
  }
});

test('an upsert that runs twice writes nothing new (parts are named by their content); partitions by size', async () => {
  const sink = parquetFiles({ destination: path.join(dir, 'again') });
  await sink.upsert(schema, rows);
  await sink.upsert(schema, rows);
  expect(await readdir(path.join(dir, 'again', 'chunks'))).toHaveLength(1);
  const small = jsonlFiles({ destination: path.join(dir, 'parts'), partitionBytes: 2000 });
  await small.upsert(schema, rows);
  const parts = await readdir(path.join(dir, 'parts', 'chunks'));
  expect(parts.length).toBeGreaterThan(3);
  let n = 0;
  for (const p of parts) n += (await readFile(path.join(dir, 'parts', 'chunks', p), 'utf8')).trim().split('\n').length;
  expect(n).toBe(rows.length);
  await small.delete(schema, [{ id: 'doc-0', pos: 0 }]);
  const deletes = (await readdir(path.join(dir, 'parts', 'chunks'))).filter((f) => f.startsWith('delete-'));
  expect(deletes).toHaveLength(1);
  expect(JSON.parse(await readFile(path.join(dir, 'parts', 'chunks', deletes[0]!), 'utf8'))).toEqual({ id: 'doc-0', pos: 0 });
});

test.each([
  ['parquet', parquetFiles],
  ['arrow', arrowFiles],
  ['jsonl', jsonlFiles],
  ['csv', csvFiles],
] as const)('%s files round-trip through readRows', async (name, make) => {
  const out = await exportTo(make({ destination: path.join(dir, `rt-${name}`) }), `rt-${name}`);
  const [file] = await readdir(out);
  const got: Array<Record<string, unknown>> = [];
  let batches = 0;
  for await (const batch of readRows(path.join(out, file!), schema.columns, { batchSize: 7 })) {
    batches++;
    got.push(...batch);
  }
  expect(batches).toBe(Math.ceil(rows.length / 7));
  const want = sorted(rows).map((r) => ({ ...r, embedding: r.embedding && r.embedding.map((x) => Math.fround(x)) }));
  expect(sorted(got).map((r) => ({ ...r, embedding: r.embedding && (r.embedding as number[]).map((x) => Math.fround(x)) }))).toEqual(want);
});

test('DuckDB-written files import too, and a column that does not fit is named', async () => {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const pq = path.join(dir, 'duck.parquet');
  const zstd = path.join(dir, 'duck-zstd.parquet');
  try {
    await conn.run(
      `copy (select 'a' || i as id, i as pos, 'text ' || i as text, i * 0.5 as score, '{"k": 1}'::json as meta, timestamptz '2024-01-01 00:00:00+00' + i * interval 1 second as "at", 'f.png' as frame, [i::float, 1, 2, 3, 4, 5, 6, 7] as embedding from range(3) t(i)) to '${pq}' (format parquet)`,
    );
    await conn.run(`copy (select * from '${pq}') to '${zstd}' (format parquet, compression zstd)`);
    await conn.run(`copy (select * from '${pq}') to '${zstd.replace('zstd', 'gzip')}' (format parquet, compression gzip)`);
  } finally {
    conn.closeSync();
  }
  const got: Array<Record<string, unknown>> = [];
  for await (const b of readRows(pq, schema.columns)) got.push(...b);
  expect(got).toHaveLength(3);
  expect(got[2]).toEqual({
    id: 'a2',
    pos: 2,
    text: 'text 2',
    score: 1,
    meta: { k: 1 },
    at: new Date('2024-01-01T00:00:02Z'),
    frame: 'f.png',
    embedding: [2, 1, 2, 3, 4, 5, 6, 7],
  });
  for (const f of [zstd, zstd.replace('zstd', 'gzip')]) {
    const again: Array<Record<string, unknown>> = [];
    for await (const b of readRows(f, schema.columns)) again.push(...b);
    expect(again).toEqual(got);
  }

  const bad = path.join(dir, 'bad.csv');
  await writeFile(bad, 'id,pos,text,score\nx,1,hello,1.5\ny,two,hi,2\n');
  const drain = async (f: string, cols = schema.columns) => {
    for await (const _ of readRows(f, cols)) void _;
  };
  await expect(drain(bad)).rejects.toThrow(ImportError);
  await expect(drain(bad)).rejects.toThrow(/row 2: column pos: expected an integer/);
  await expect(drain(bad, [...schema.columns, { name: 'must', type: { kind: 'string', nullable: false, primaryKey: false } }])).rejects.toThrow(
    /column must is missing/,
  );
  const badJsonl = path.join(dir, 'bad.jsonl');
  await writeFile(badJsonl, '{"id":"a","pos":1,"embedding":[1,2]}\n');
  await expect(drain(badJsonl)).rejects.toThrow(/column embedding: expected an array of length 8/);
});
