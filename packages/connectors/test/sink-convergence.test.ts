import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { t, type ExportRow, type ExportSchema } from '@tessera/core';
import * as lancedbApi from '@lancedb/lancedb';
import { postgres, mysql as mysqlSink, parquetFiles, lancedb, isExportStuck, ExportSchemaMismatch } from '@tessera/connectors';
import { chunkRows, chunkSchema, uniqueName } from './support/schema';
import { MYSQL_URL as MY_URL, PG_URL } from '../../../test/support/services';

/**
 * What full ships and pipeline changes need from the sinks: `retain` deletes every row whose key is
 * not live (composite keys too), a new exported column is added to a table the sink may alter, an
 * unexported one dropped only when asked, and a table it may not alter gives a message saying what
 * to run (an error the runtime shows as a stuck export).
 */
const schemaName = uniqueName('conv_sink');
const myTable = uniqueName('conv_sink');
let admin: pg.Client;
let my: mysql.Connection;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema "${schemaName}"`);
  my = await mysql.createConnection({ uri: MY_URL });
});
afterAll(async () => {
  await admin.query(`drop schema "${schemaName}" cascade`);
  await admin.end();
  await my.query(`DROP TABLE IF EXISTS \`${myTable}\``);
  await my.end();
});

async function* chunks(rows: ExportRow[], size = 2): AsyncGenerator<ExportRow[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
const keysOf = (rows: ExportRow[]) => rows.map((r) => ({ id: r.id, pos: r.pos }));
const withColumn = (schema: ExportSchema, extra: ExportSchema['columns'][number]): ExportSchema => ({ ...schema, columns: [...schema.columns, extra] });

test('postgres: retain deletes every row whose key is not live; columns are added, and dropped only when asked', async () => {
  const schema = chunkSchema();
  const sink = postgres({ url: PG_URL, schema: schemaName, table: 'chunks', create: true });
  try {
    await sink.upsert(schema, chunkRows(6));
    const live = chunkRows(6).filter((r) => r.pos !== 1 && r.pos !== 4);
    expect(await sink.retain!(schema, chunks(keysOf(live)))).toBe(2);
    expect((await admin.query(`select pos from "${schemaName}".chunks order by pos`)).rows.map((r) => Number(r.pos))).toEqual([0, 2, 3, 5]);
    expect(await sink.retain!(schema, chunks(keysOf(live)))).toBe(0);

    const more = withColumn(schema, { name: 'words', type: t.int().nullable().spec });
    await sink.upsert(
      more,
      chunkRows(2).map((r) => ({ ...r, words: 7 })),
    );
    const words = await admin.query(`select pos, words from "${schemaName}".chunks order by pos`);
    expect(words.rows.map((r) => [Number(r.pos), r.words === null ? null : Number(r.words)])).toEqual([
      [0, 7],
      [1, 7],
      [2, null],
      [3, null],
      [5, null],
    ]);
    const type = await admin.query(
      `select data_type from information_schema.columns where table_schema = $1 and table_name = 'chunks' and column_name = 'words'`,
      [schemaName],
    );
    expect(type.rows[0].data_type).toBe('bigint');

    // `words` is no longer exported: kept by default, dropped with dropColumns
    await sink.upsert(schema, chunkRows(1));
    const columns = async () =>
      (
        await admin.query(`select column_name from information_schema.columns where table_schema = $1 and table_name = 'chunks' order by ordinal_position`, [
          schemaName,
        ])
      ).rows.map((r) => r.column_name);
    expect(await columns()).toContain('words');
    const dropping = postgres({ url: PG_URL, schema: schemaName, table: 'chunks', dropColumns: true });
    try {
      await dropping.upsert(schema, chunkRows(1));
      expect(await columns()).not.toContain('words');
    } finally {
      await dropping.close();
    }
  } finally {
    await sink.close();
  }
});

test('postgres: a table the sink may not alter names the column and the ALTER TABLE to run', async () => {
  await admin.query(`create table "${schemaName}".theirs (id text, pos bigint, text text, primary key (id, pos))`);
  const sink = postgres({ url: PG_URL, schema: schemaName, table: 'theirs' });
  const schema: ExportSchema = { ...chunkSchema(), columns: chunkSchema().columns.filter((c) => ['id', 'pos', 'text', 'score'].includes(c.name)) };
  try {
    const err = await sink.upsert(schema, chunkRows(1)).then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(ExportSchemaMismatch);
    expect(err.message).toContain('column score is missing');
    expect(err.message).toContain(`add column "score" double precision`);
    expect(isExportStuck(err)).toBe(true);
  } finally {
    await sink.close();
  }
});

test('mysql: retain deletes every row whose key is not live; a new column is added', async () => {
  const schema = chunkSchema();
  const sink = mysqlSink({ url: MY_URL, table: myTable, create: true, embeddingAs: 'json' });
  try {
    await sink.upsert(schema, chunkRows(6));
    const live = chunkRows(6).filter((r) => r.pos !== 0 && r.pos !== 5);
    expect(await sink.retain!(schema, chunks(keysOf(live)))).toBe(2);
    const [rows] = await my.query<mysql.RowDataPacket[]>(`SELECT pos FROM \`${myTable}\` ORDER BY pos`);
    expect(rows.map((r) => Number(r.pos))).toEqual([1, 2, 3, 4]);
    const more = withColumn(schema, { name: 'words', type: t.int().nullable().spec });
    await sink.upsert(
      more,
      chunkRows(2, { from: 1 }).map((r) => ({ ...r, words: 3 })),
    );
    const [w] = await my.query<mysql.RowDataPacket[]>(`SELECT pos, words FROM \`${myTable}\` ORDER BY pos`);
    expect(w.map((r) => [Number(r.pos), r.words === null ? null : Number(r.words)])).toEqual([
      [1, 3],
      [2, 3],
      [3, null],
      [4, null],
    ]);
    // a permission or unknown-table error is one a retry cannot fix
    expect(isExportStuck({ code: 'ER_TABLEACCESS_DENIED_ERROR' })).toBe(true);
    expect(isExportStuck({ code: 'ER_LOCK_DEADLOCK' })).toBe(false);
  } finally {
    await sink.close();
  }
});

test('files: a full ship ends with a snapshot marker named by its sequence', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'conv-files-'));
  const sink = parquetFiles({ destination: dir });
  const schema = chunkSchema();
  await sink.upsert(schema, chunkRows(3), { version: 7 });
  expect(await sink.retain(schema, chunks(keysOf(chunkRows(3))), { version: 7 })).toBeUndefined();
  const files = (await readdir(path.join(dir, 'chunks'))).sort();
  expect(files.filter((f) => f.startsWith('part-0000000007-'))).toHaveLength(1);
  expect(files).toContain('snapshot-0000000007.json');
  await rm(dir, { recursive: true, force: true });
});

test('lancedb: retain deletes every row whose key is not live (composite keys, quotes in keys)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'conv-lance-'));
  const sink = lancedb({ uri: dir, table: 'chunks', create: true });
  const schema = chunkSchema();
  const odd = { ...chunkRows(1)[0]!, id: "it's \\ odd", pos: 9 };
  try {
    await sink.upsert(schema, [...chunkRows(6), odd]);
    const live = [...chunkRows(6).filter((r) => r.pos !== 2 && r.pos !== 5), odd];
    expect(await sink.retain!(schema, chunks(keysOf(live)))).toBe(2);
    const db = await lancedbApi.connect(dir);
    const tbl = await db.openTable('chunks');
    const left = (await tbl.query().select(['id', 'pos']).toArray()).map((r) => [r.id, Number(r.pos)]).sort((a, b) => Number(a[1]) - Number(b[1]));
    tbl.close();
    db.close();
    expect(left).toEqual(keysOf(live).map((k) => [k.id, k.pos]));
    // nothing more to delete: a second full ship's cleanup deletes nothing
    expect(await sink.retain!(schema, chunks(keysOf(live)))).toBe(0);
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
});
