import pg from 'pg';
import { TransientError, t } from '@tessera/core';
import { postgres, ExportSchemaMismatch } from '@tessera/connectors';
import { chunkRows, chunkSchema, uniqueName } from './support/schema';
import { startTcpProxy, freePort } from '../../../test/support/tcp-proxy';
import { PG_URL, onPort, portOf } from '../../../test/support/services';

const schemaName = uniqueName('conn_pg');
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema "${schemaName}"`);
});

afterAll(async () => {
  await admin.query(`drop schema "${schemaName}" cascade`);
  await admin.end();
});

const rowsOf = async (table: string) =>
  (await admin.query(`select id, pos, text, score, meta, at, frame, embedding from "${schemaName}"."${table}" order by id, pos`)).rows;

test('creates the table, upserts idempotently, ships a second batch, deletes by key', async () => {
  const sink = postgres({ url: PG_URL, schema: schemaName, table: 'chunks', create: true });
  const schema = chunkSchema();
  try {
    await sink.prepare(schema);
    const cols = await admin.query(
      `select column_name, data_type, udt_name from information_schema.columns where table_schema = $1 and table_name = 'chunks' order by ordinal_position`,
      [schemaName],
    );
    expect(cols.rows.map((r) => `${r.column_name}:${r.udt_name}`)).toEqual([
      'id:text',
      'pos:int8',
      'text:text',
      'score:float8',
      'meta:jsonb',
      'at:timestamptz',
      'frame:text',
      'embedding:_float4',
    ]);

    const first = chunkRows(5);
    await sink.upsert(schema, first);
    const once = await rowsOf('chunks');
    await sink.upsert(schema, first);
    expect(await rowsOf('chunks')).toEqual(once);
    expect(once).toHaveLength(5);
    const r3 = once.find((r) => r.pos === '3' || r.pos === 3)!;
    expect(r3.text).toBe(first[3]!.text);
    expect(r3.meta).toEqual(first[3]!.meta);
    expect(r3.at.toISOString()).toBe(first[3]!.at.toISOString());
    expect(r3.embedding).toEqual(first[3]!.embedding);

    // a second batch: two changed rows and three new ones, with a duplicate key (last wins)
    const second = [...chunkRows(5, { from: 3, tag: 'v2' }), { ...chunkRows(1, { from: 7, tag: 'v3' })[0]! }];
    await sink.upsert(schema, second);
    const after = await rowsOf('chunks');
    expect(after).toHaveLength(8);
    expect(
      after
        .filter((r) => String(r.text).endsWith('v2'))
        .map((r) => Number(r.pos))
        .sort(),
    ).toEqual([3, 4, 5, 6]);
    expect(after.find((r) => Number(r.pos) === 7)!.text).toMatch(/v3$/);

    await sink.delete(schema, [
      { id: 'doc-0', pos: 0 },
      { id: 'doc-1', pos: 4 },
      { id: 'nope', pos: 99 },
    ]);
    expect((await rowsOf('chunks')).map((r) => Number(r.pos))).toEqual([3, 6, 1, 7, 2, 5]);

    // nulls travel as NULL, not as text
    await sink.upsert(schema, [{ id: 'n', pos: 1, text: null, score: null, meta: null, at: null, frame: null, embedding: null }]);
    const n = (await admin.query(`select * from "${schemaName}".chunks where id = 'n'`)).rows[0];
    expect([n.text, n.score, n.meta, n.at, n.frame, n.embedding]).toEqual([null, null, null, null, null, null]);
  } finally {
    await sink.close();
  }
});

test('an existing table that does not fit is refused with the column named', async () => {
  await admin.query(
    `create table "${schemaName}".bad (id text, pos bigint, text text, score text, meta jsonb, at timestamptz, frame text, embedding real[], primary key (id, pos))`,
  );
  const sink = postgres({ url: PG_URL, schema: schemaName, table: 'bad' });
  try {
    await expect(sink.prepare(chunkSchema())).rejects.toThrow(ExportSchemaMismatch);
    await expect(sink.prepare(chunkSchema())).rejects.toThrow(/column score is text, expected double precision/);
  } finally {
    await sink.close();
  }
  const missing = postgres({ url: PG_URL, schema: schemaName, table: 'absent' });
  await expect(missing.prepare(chunkSchema())).rejects.toThrow(/absent does not exist/);
  await missing.close();

  await admin.query(
    `create table "${schemaName}".nokey (id text, pos bigint, text text, score float8, meta jsonb, at timestamptz, frame text, embedding real[])`,
  );
  const nokey = postgres({ url: PG_URL, schema: schemaName, table: 'nokey' });
  await expect(nokey.prepare(chunkSchema())).rejects.toThrow(/no primary key or unique index on exactly \(id, pos\)/);
  await nokey.close();
});

test('an existing table that fits is used as is', async () => {
  await admin.query(
    `create table "${schemaName}".fits (id varchar(40), pos integer, text text, score real, meta json, at timestamptz, frame text, embedding double precision[], extra text default 'x', unique (pos, id))`,
  );
  const sink = postgres({ url: PG_URL, schema: schemaName, table: 'fits' });
  try {
    await sink.upsert(chunkSchema(), chunkRows(3));
    await sink.upsert(chunkSchema(), chunkRows(3));
    const rows = (await admin.query(`select * from "${schemaName}".fits order by pos`)).rows;
    expect(rows).toHaveLength(3);
    expect(rows[2].embedding).toEqual(chunkRows(3)[2]!.embedding);
    expect(rows[2].extra).toBe('x');
  } finally {
    await sink.close();
  }
});

test('a target that is down raises TransientError, then the same sink completes when it is back', async () => {
  const port = await freePort();
  const url = onPort(PG_URL, port);
  const sink = postgres({ url, schema: schemaName, table: 'flaky', create: true });
  const schema = chunkSchema();
  const rows = chunkRows(4);
  try {
    await expect(sink.upsert(schema, rows)).rejects.toThrow(TransientError);
    await expect(sink.prepare(schema)).rejects.toThrow(TransientError);
    const proxy = await startTcpProxy(port, portOf(PG_URL));
    try {
      await sink.upsert(schema, rows);
      await sink.upsert(schema, rows); // the queue's retry after an ambiguous failure
    } finally {
      await proxy.close();
    }
    expect(await rowsOf('flaky')).toHaveLength(4);
  } finally {
    await sink.close();
  }
});

test('identifiers are validated; row data never becomes SQL', async () => {
  expect(() => postgres({ url: PG_URL, table: 'x"; drop table y; --' })).toThrow(/invalid table name/);
  const sink = postgres({ url: PG_URL, schema: schemaName, table: 'inj', create: true });
  try {
    const evil = chunkRows(1)[0]!;
    evil.text = `'); drop table "${schemaName}".inj; --`;
    evil.id = `"},{"`;
    await sink.upsert(chunkSchema(), [evil]);
    const rows = await rowsOf('inj');
    expect(rows.map((r) => [r.id, r.text])).toEqual([[evil.id, evil.text]]);
  } finally {
    await sink.close();
  }
});

test('a target changed underneath is checked again on the next try', async () => {
  const sink = postgres({ url: PG_URL, schema: schemaName, table: 'replaced', create: true });
  try {
    await sink.upsert(chunkSchema(), chunkRows(2));
    await admin.query(`drop table "${schemaName}".replaced`);
    await expect(sink.upsert(chunkSchema(), chunkRows(2))).rejects.toThrow(/does not exist/);
    await sink.upsert(chunkSchema(), chunkRows(2)); // the retry prepares again, and creates the table
    expect(await rowsOf('replaced')).toHaveLength(2);
  } finally {
    await sink.close();
  }
});

test('create: true also creates a missing schema; concurrent creators both succeed', async () => {
  // where two creators collide varies (the schema, the table, its row type, a catalog index), so
  // the race is run many times: every loser must get a TransientError (its job retries), never a
  // raw database error that fails the export
  for (let i = 0; i < 25; i++) {
    const own = `${schemaName}_new${i}`;
    const a = postgres({ url: PG_URL, schema: own, table: 't', create: true });
    const b = postgres({ url: PG_URL, schema: own, table: 't', create: true });
    try {
      const results = await Promise.allSettled([a.prepare(chunkSchema()), b.prepare(chunkSchema())]);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TransientError);
      await a.upsert(chunkSchema(), chunkRows(2));
      await b.upsert(chunkSchema(), chunkRows(3));
      expect((await admin.query(`select count(*)::int as n from "${own}".t`)).rows[0].n).toBe(3);
    } finally {
      await a.close();
      await b.close();
      await admin.query(`drop schema if exists "${own}" cascade`);
    }
  }
});

test("'params' load mode (no COPY) gives the same rows", async () => {
  const sink = postgres({ url: PG_URL, schema: schemaName, table: 'params', create: true, load: 'params' });
  const copy = postgres({ url: PG_URL, schema: schemaName, table: 'copied', create: true });
  try {
    const rows = [...chunkRows(6), { id: 'n', pos: 1, text: null, score: null, meta: null, at: null, frame: null, embedding: null }];
    await sink.upsert(chunkSchema(), rows);
    await sink.upsert(chunkSchema(), rows);
    await copy.upsert(chunkSchema(), rows);
    expect(await rowsOf('params')).toEqual(await rowsOf('copied'));
  } finally {
    await sink.close();
    await copy.close();
  }
});

test("ships stage their rows in one temporary table per connection, kept and emptied at each commit: the customer's catalogs do not churn, and a failed ship leaves nothing behind", async () => {
  // columns of its own, so its staging table is told apart from other tests' by name
  const schema = chunkSchema(3);
  schema.columns = [...schema.columns, { name: 'staged_note', type: t.string().nullable().spec }];
  const sink = postgres({ url: PG_URL, schema: schemaName, table: 'staged', create: true, maxConnections: 1 });
  const stagingTables = async () =>
    (await admin.query(`select oid::int from pg_class where relname like 'tessera_export_stage_%' and relpersistence = 't' and relkind = 'r'`)).rows.map(
      (r) => r.oid as number,
    );
  const before = new Set(await stagingTables());
  const rows = (from: number, n: number) => chunkRows(n, { from, dim: 3 }).map((r) => ({ ...r, staged_note: `note ${r.pos}` }));
  try {
    await sink.upsert(schema, rows(0, 5));
    const made = (await stagingTables()).filter((oid) => !before.has(oid));
    expect(made).toHaveLength(1);
    for (let i = 1; i <= 10; i++) await sink.upsert(schema, rows(i * 5, 5));
    expect((await stagingTables()).filter((oid) => !before.has(oid))).toEqual(made);

    // a ship the target refuses rolls back; the next ships only its own rows
    await admin.query(`alter table "${schemaName}".staged add constraint small_pos check (pos < 1000)`);
    await expect(sink.upsert(schema, rows(2000, 3))).rejects.toThrow(/small_pos/);
    await sink.upsert(schema, rows(100, 2));
    const { rows: got } = await admin.query(`select pos::int from "${schemaName}".staged where pos >= 55 order by pos`);
    expect(got.map((r) => r.pos)).toEqual([100, 101]);
    expect(Number((await admin.query(`select count(*) from "${schemaName}".staged`)).rows[0].count)).toBe(57);
  } finally {
    await sink.close();
  }
});
