import mysql from 'mysql2/promise';
import { ConfigError } from '@tessera/core';
import { mysql as mysqlSink } from '@tessera/connectors';
import { parseServerVersion, vectorSupport } from '../src/sinks/mysql/my-columns';
import { chunkRows, chunkSchema, uniqueName } from './support/schema';
import { MYSQL_URL as OLD_URL, MYSQL_VECTOR_URL as VECTOR_URL } from '../../../test/support/services';

/**
 * Embeddings into MySQL/MariaDB: the server's VECTOR type where it has one, else JSON (or a
 * float32 BLOB when asked). The VECTOR half runs against MariaDB 11.8 (scripts/start-mariadb-vector.sh,
 * 127.0.0.1:3307, started by .ci/run); the fallback half against the machine's MariaDB 10.11. No
 * MySQL 9 can be installed here (Debian ships no MySQL server), so STRING_TO_VECTOR is checked only
 * as far as version detection goes.
 */
const prefix = uniqueName('conn_vec');
const vectorServer = await mysql.createConnection({ uri: VECTOR_URL, timezone: 'Z', connectTimeout: 3000 }).catch(() => undefined);
if (!vectorServer) console.warn(`no MariaDB with VECTOR at ${VECTOR_URL} (bash scripts/start-mariadb-vector.sh): its tests are skipped`);
const withVector = vectorServer ? test : test.skip;

afterAll(async () => {
  for (const uri of [OLD_URL, ...(vectorServer ? [VECTOR_URL] : [])]) {
    const c = await mysql.createConnection({ uri });
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?`,
      [`${prefix}%`],
    );
    for (const r of rows) await c.query(`DROP TABLE \`${String(r.t)}\``);
    await c.end();
  }
  await vectorServer?.end();
});

test('VECTOR is detected from the server version: MariaDB 11.7+, MySQL 9+', () => {
  const fn = (v: string) => vectorSupport(parseServerVersion(v))?.fromText ?? 'json';
  expect(fn('10.11.19-MariaDB-0+deb12u1')).toBe('json');
  expect(fn('11.6.2-MariaDB-ubu2404')).toBe('json');
  expect(fn('11.7.1-MariaDB')).toBe('VEC_FromText');
  expect(fn('11.8.9-MariaDB-0+deb13u1 from Debian')).toBe('VEC_FromText');
  expect(fn('12.0.2-MariaDB')).toBe('VEC_FromText');
  expect(fn('5.5.5-10.11.6-MariaDB')).toBe('json');
  expect(fn('8.4.3')).toBe('json');
  expect(fn('8.0.36-0ubuntu0.22.04.1')).toBe('json');
  expect(fn('9.1.0')).toBe('STRING_TO_VECTOR');
  expect(fn('9.0.1-commercial')).toBe('STRING_TO_VECTOR');
});

test("on a server without VECTOR (MariaDB 10.11) 'auto' falls back to JSON and 'vector' is refused", async () => {
  const auto = mysqlSink({ url: OLD_URL, table: `${prefix}_auto`, create: true });
  const forced = mysqlSink({ url: OLD_URL, table: `${prefix}_forced`, create: true, embeddingAs: 'vector' });
  try {
    await auto.upsert(chunkSchema(), chunkRows(1));
    const c = await mysql.createConnection({ uri: OLD_URL });
    const [cols] = await c.query<mysql.RowDataPacket[]>(
      `SELECT column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'embedding'`,
      [`${prefix}_auto`],
    );
    await c.end();
    expect(cols[0]!.t).toBe('longtext'); // MariaDB's JSON
    await expect(forced.prepare(chunkSchema())).rejects.toThrow(ConfigError);
    await expect(forced.prepare(chunkSchema())).rejects.toThrow(`export to mysql:${prefix}_forced: embeddingAs 'vector' needs MariaDB 11.7+ or MySQL 9+`);
  } finally {
    await auto.close();
    await forced.close();
  }
});

withVector('on MariaDB 11.8 embeddings go to VECTOR(n), upsert idempotently, update, delete, and read back exactly', async () => {
  const table = `${prefix}_vec`;
  const sink = mysqlSink({ url: VECTOR_URL, table, create: true });
  const read = async () => {
    const [rows] = await vectorServer!.query<mysql.RowDataPacket[]>(`SELECT id, pos, VEC_ToText(embedding) AS e FROM \`${table}\` ORDER BY pos`);
    return rows.map((r) => [r.id, Number(r.pos), r.e === null ? null : (JSON.parse(r.e) as number[]).map(Math.fround)]);
  };
  try {
    const rows = chunkRows(3);
    rows[2]!.embedding = null as never;
    await sink.upsert(chunkSchema(), rows);
    await sink.upsert(chunkSchema(), rows);
    const [cols] = await vectorServer!.query<mysql.RowDataPacket[]>(
      `SELECT column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'embedding'`,
      [table],
    );
    expect(cols[0]!.t).toBe('vector(4)');
    expect(await read()).toEqual([
      ['doc-0', 0, [0, 0.125, 0.25, 0.375]],
      ['doc-1', 1, [0.125, 0.25, 0.375, 0.5]],
      ['doc-2', 2, null],
    ]);

    await sink.upsert(chunkSchema(), [{ ...chunkRows(1, { from: 1 })[0]!, embedding: [-1.5, 2.25, 1e-3, 3] }]);
    await sink.delete(chunkSchema(), [{ id: 'doc-0', pos: 0 }]);
    expect(await read()).toEqual([
      ['doc-1', 1, [-1.5, 2.25, Math.fround(1e-3), 3]],
      ['doc-2', 2, null],
    ]);

    // a second sink finds the VECTOR table and uses it as it is
    const again = mysqlSink({ url: VECTOR_URL, table });
    await again.upsert(chunkSchema(), chunkRows(1));
    await again.close();
    expect((await read()).map((r) => r[1])).toEqual([0, 1, 2]);
    // a vector of the wrong length is refused by the server, not stored
    await expect(sink.upsert(chunkSchema(), [{ ...chunkRows(1)[0]!, embedding: [1, 2, 3] }])).rejects.toThrow();
  } finally {
    await sink.close();
  }
});

withVector("on MariaDB 11.8 'json' and 'blob' still choose JSON and BLOB, and an existing JSON column is kept", async () => {
  const json = mysqlSink({ url: VECTOR_URL, table: `${prefix}_json`, create: true, embeddingAs: 'json' });
  const blob = mysqlSink({ url: VECTOR_URL, table: `${prefix}_blob`, create: true, embeddingAs: 'blob' });
  try {
    await json.upsert(chunkSchema(), chunkRows(2));
    await blob.upsert(chunkSchema(), chunkRows(2));
    const auto = mysqlSink({ url: VECTOR_URL, table: `${prefix}_json` }); // 'auto' against an existing JSON column
    await auto.upsert(chunkSchema(), chunkRows(2, { from: 2 }));
    await auto.close();
    const [cols] = await vectorServer!.query<mysql.RowDataPacket[]>(
      `SELECT table_name AS t, column_type AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name IN (?, ?) AND column_name = 'embedding' ORDER BY table_name`,
      [`${prefix}_blob`, `${prefix}_json`],
    );
    expect(cols.map((c) => c.c)).toEqual(['blob', 'longtext']);
    const [rows] = await vectorServer!.query<mysql.RowDataPacket[]>(`SELECT embedding FROM \`${prefix}_json\` ORDER BY pos`);
    expect(rows.map((r) => (typeof r.embedding === 'string' ? JSON.parse(r.embedding) : r.embedding))).toEqual(chunkRows(4).map((r) => r.embedding));
    // asking for VECTOR by name where the existing column is JSON is a mismatch naming the column
    const forced = mysqlSink({ url: VECTOR_URL, table: `${prefix}_json`, embeddingAs: 'vector' });
    await expect(forced.prepare(chunkSchema())).rejects.toThrow(/column embedding is longtext, but embeddingAs: 'vector' was asked for/);
    await forced.close();
  } finally {
    await json.close();
    await blob.close();
  }
});
