import mysql from 'mysql2/promise';
import { TransientError } from '@tessera/core';
import { mysql as mysqlSink, ExportSchemaMismatch } from '@tessera/connectors';
import { chunkRows, chunkSchema, uniqueName } from './support/schema';
import { startTcpProxy, freePort } from '../../../test/support/tcp-proxy';
import { MYSQL_URL as MY_URL, onPort, portOf } from '../../../test/support/services';

const prefix = uniqueName('conn_my');
const table = (name: string) => `${prefix}_${name}`;
let admin: mysql.Connection;

beforeAll(async () => {
  admin = await mysql.createConnection({ uri: MY_URL, timezone: 'Z' });
});

afterAll(async () => {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?`,
    [`${prefix}%`],
  );
  for (const r of rows) await admin.query(`DROP TABLE \`${String(r.t)}\``);
  await admin.end();
});

const rowsOf = async (name: string) => {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${table(name)}\` ORDER BY id, pos`);
  return rows;
};

test('creates the table, upserts idempotently, ships a second batch, deletes by key', async () => {
  const sink = mysqlSink({ url: MY_URL, table: table('chunks'), create: true });
  const schema = chunkSchema();
  try {
    await sink.upsert(schema, chunkRows(5));
    const once = await rowsOf('chunks');
    await sink.upsert(schema, chunkRows(5));
    expect(await rowsOf('chunks')).toEqual(once);
    expect(once).toHaveLength(5);
    const expected = chunkRows(5)[3]!;
    const r3 = once.find((r) => Number(r.pos) === 3)!;
    expect(r3.text).toBe(expected.text);
    expect(typeof r3.meta === 'string' ? JSON.parse(r3.meta) : r3.meta).toEqual(expected.meta);
    expect(new Date(r3.at).toISOString()).toBe(expected.at.toISOString());
    // MariaDB 10.11 has no VECTOR type: embeddings are JSON arrays
    expect(typeof r3.embedding === 'string' ? JSON.parse(r3.embedding) : r3.embedding).toEqual(expected.embedding);

    await sink.upsert(schema, [...chunkRows(5, { from: 3, tag: 'v2' }), ...chunkRows(1, { from: 7, tag: 'v3' })]);
    const after = await rowsOf('chunks');
    expect(after).toHaveLength(8);
    expect(
      after
        .filter((r) => String(r.text).endsWith('v2'))
        .map((r) => Number(r.pos))
        .sort(),
    ).toEqual([3, 4, 5, 6]);

    await sink.delete(schema, [
      { id: 'doc-0', pos: 0 },
      { id: 'doc-1', pos: 4 },
      { id: 'nope', pos: 1 },
    ]);
    expect((await rowsOf('chunks')).map((r) => Number(r.pos))).toEqual([3, 6, 1, 7, 2, 5]);

    const [cols] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT column_name AS c, column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`,
      [table('chunks')],
    );
    expect(cols.map((c) => `${c.c}:${c.t}`)).toEqual([
      'id:varchar(512)',
      'pos:bigint(20)',
      'text:longtext',
      'score:double',
      'meta:longtext',
      'at:datetime(6)',
      'frame:longtext',
      'embedding:longtext',
    ]);
  } finally {
    await sink.close();
  }
});

test('embeddings as little-endian float32 BLOBs', async () => {
  const sink = mysqlSink({ url: MY_URL, table: table('blob'), create: true, embeddingAs: 'blob' });
  try {
    await sink.upsert(chunkSchema(), chunkRows(2));
    const rows = await rowsOf('blob');
    const buf = rows[1]!.embedding as Buffer;
    expect(buf.length).toBe(16);
    expect([0, 1, 2, 3].map((i) => buf.readFloatLE(i * 4))).toEqual(chunkRows(2)[1]!.embedding);
  } finally {
    await sink.close();
  }
});

test('an existing table that does not fit is refused with the column named', async () => {
  await admin.query(
    `CREATE TABLE \`${table('bad')}\` (id VARCHAR(40), pos BIGINT, text TEXT, score DOUBLE, meta JSON, at DATETIME, frame TEXT, embedding INT, PRIMARY KEY (id, pos))`,
  );
  const sink = mysqlSink({ url: MY_URL, table: table('bad') });
  try {
    await expect(sink.prepare(chunkSchema())).rejects.toThrow(ExportSchemaMismatch);
    await expect(sink.prepare(chunkSchema())).rejects.toThrow(/column embedding is int\(11\), expected JSON/);
  } finally {
    await sink.close();
  }
  const missing = mysqlSink({ url: MY_URL, table: table('absent') });
  await expect(missing.prepare(chunkSchema())).rejects.toThrow(/does not exist/);
  await missing.close();
});

test('a target that is down raises TransientError, then the same sink completes when it is back', async () => {
  const port = await freePort();
  const sink = mysqlSink({ url: onPort(MY_URL, port), table: table('flaky'), create: true });
  try {
    await expect(sink.upsert(chunkSchema(), chunkRows(4))).rejects.toThrow(TransientError);
    const proxy = await startTcpProxy(port, portOf(MY_URL));
    try {
      await sink.upsert(chunkSchema(), chunkRows(4));
      await sink.upsert(chunkSchema(), chunkRows(4));
    } finally {
      await proxy.close();
    }
    expect(await rowsOf('flaky')).toHaveLength(4);
  } finally {
    await sink.close();
  }
});

test('row data never becomes SQL text', async () => {
  const sink = mysqlSink({ url: MY_URL, table: table('inj'), create: true });
  try {
    const evil = chunkRows(1)[0]!;
    evil.text = `'); DROP TABLE \`${table('inj')}\`; --`;
    await sink.upsert(chunkSchema(), [evil]);
    expect((await rowsOf('inj')).map((r) => r.text)).toEqual([evil.text]);
  } finally {
    await sink.close();
  }
  expect(() => mysqlSink({ url: MY_URL, table: 'a`b' })).toThrow(/invalid table name/);
});
