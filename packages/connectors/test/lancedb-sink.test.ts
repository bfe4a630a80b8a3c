import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as lancedbApi from '@lancedb/lancedb';
import { t, ConfigError, type ExportSchema } from '@tessera/core';
import { lancedb, ExportSchemaMismatch } from '@tessera/connectors';
import { chunkRows, chunkSchema } from './support/schema';

/**
 * The LanceDB sink against a real local LanceDB dataset, read back with LanceDB's own API (a
 * separate connection): rows, column types (embeddings as fixed-size lists), upserts of changed rows,
 * deletes by key, and a vector search over what was exported.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-lance-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readBack(table: string) {
  const db = await lancedbApi.connect(dir);
  try {
    const tbl = await db.openTable(table);
    const schema = await tbl.schema();
    const rows = (await tbl.query().toArray()).map((r) => ({ ...r, embedding: r.embedding ? Array.from(r.embedding as ArrayLike<number>) : null }));
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : Number(a.pos) - Number(b.pos)));
    tbl.close();
    return { types: Object.fromEntries(schema.fields.map((f) => [f.name, `${String(f.type)}${f.nullable ? '' : ' not null'}`])), rows };
  } finally {
    db.close();
  }
}

test('creates the dataset, upserts idempotently, updates changed rows, deletes by key; vectors are fixed-size lists', async () => {
  const sink = lancedb({ uri: dir, table: 'chunks', create: true });
  const schema = chunkSchema();
  try {
    await sink.upsert(schema, chunkRows(5));
    await sink.upsert(schema, chunkRows(5)); // an export job that runs twice
    const once = await readBack('chunks');
    expect(once.types).toEqual({
      id: 'Utf8 not null',
      pos: 'Int64 not null',
      text: 'Utf8',
      score: 'Float64',
      meta: 'Utf8',
      at: 'Timestamp<MILLISECOND, UTC>',
      frame: 'Utf8',
      embedding: 'FixedSizeList[4]<Float32>',
    });
    expect(once.rows).toHaveLength(5);
    const expected = chunkRows(5)[3]!;
    const r3 = once.rows.find((r) => Number(r.pos) === 3)!;
    expect(r3.id).toBe(expected.id);
    expect(r3.text).toBe(expected.text);
    expect(r3.score).toBe(expected.score);
    expect(JSON.parse(r3.meta as string)).toEqual(expected.meta);
    expect(Number(r3.at)).toBe(expected.at.getTime());
    expect(r3.frame).toBe(expected.frame);
    expect(r3.embedding).toEqual(expected.embedding); // k/8 values are exact in float32

    // rows 3 and 4 change, 5..7 are new
    await sink.upsert(schema, [...chunkRows(5, { from: 3, tag: 'v2' }), { ...chunkRows(1, { from: 7, tag: 'v3' })[0]!, embedding: null }]);
    const after = await readBack('chunks');
    expect(after.rows).toHaveLength(8);
    expect(
      after.rows
        .filter((r) => String(r.text).endsWith('v2'))
        .map((r) => Number(r.pos))
        .sort(),
    ).toEqual([3, 4, 5, 6]);
    expect(after.rows.find((r) => Number(r.pos) === 7)!.embedding).toBeNull();
    expect(after.rows.find((r) => Number(r.pos) === 4)!.embedding).toEqual(chunkRows(1, { from: 4 })[0]!.embedding);

    await sink.delete(schema, [
      { id: 'doc-0', pos: 0 },
      { id: 'doc-1', pos: 4 },
      { id: 'nope', pos: 1 },
    ]);
    const left = await readBack('chunks');
    expect(left.rows.map((r) => `${r.id}/${Number(r.pos)}`)).toEqual(['doc-0/3', 'doc-0/6', 'doc-1/1', 'doc-1/7', 'doc-2/2', 'doc-2/5']);

    // the column is a real vector column: LanceDB's nearest-neighbour search finds the row
    const db = await lancedbApi.connect(dir);
    const tbl = await db.openTable('chunks');
    const [hit] = await tbl
      .search(chunkRows(1, { from: 5 })[0]!.embedding)
      .limit(1)
      .toArray();
    expect(`${hit.id}/${Number(hit.pos)}`).toBe('doc-2/5');
    tbl.close();
    db.close();
  } finally {
    await sink.close();
  }
});

test('keys with quotes, backslashes and newlines are deleted exactly', async () => {
  const schema: ExportSchema = {
    source: 'notes',
    key: ['id'],
    columns: [
      { name: 'id', type: t.string().primaryKey().spec },
      { name: 'n', type: t.int().nullable().spec },
    ],
  };
  const ids = ["it's", "it''s", 'back\\slash', "back\\'quote", 'line\nbreak', 'OR 1=1', "' OR '1'='1"];
  const sink = lancedb({ uri: dir, table: 'notes', create: true });
  try {
    await sink.upsert(
      schema,
      ids.map((id, n) => ({ id, n })),
    );
    await sink.delete(schema, [{ id: "it's" }, { id: "back\\'quote" }, { id: "' OR '1'='1" }]);
    const { rows } = await readBack('notes');
    expect(rows.map((r) => r.id).sort()).toEqual(['OR 1=1', "it''s", 'back\\slash', 'line\nbreak'].sort());
    expect(rows.find((r) => r.id === 'line\nbreak')!.n).toBe(4n);
  } finally {
    await sink.close();
  }
});

test('an existing dataset that does not fit, a missing one without create, and a key type LanceDB cannot filter are clear errors', async () => {
  const seed = lancedb({ uri: dir, table: 'narrow', create: true });
  const narrow: ExportSchema = { source: 'chunks', key: ['id', 'pos'], columns: chunkSchema(8).columns };
  await seed.upsert(narrow, chunkRows(1, { dim: 8 }));
  await seed.close();

  const sink = lancedb({ uri: dir, table: 'narrow' });
  try {
    // the dataset holds 8-dim vectors; these are 4
    await expect(sink.prepare(chunkSchema(4))).rejects.toThrow(ExportSchemaMismatch);
    await expect(sink.prepare(chunkSchema(4))).rejects.toThrow(/column embedding is FixedSizeList\[8\]<Float32>, expected FixedSizeList\[4\]<Float32>/);
    const extra = { ...narrow, columns: [...narrow.columns, { name: 'missing_col', type: t.string().nullable().spec }] };
    await expect(sink.prepare(extra)).rejects.toThrow(/column missing_col is missing/);
    // a dataset column we do not fill, which may not be null, would make every insert fail
    const fewer = { ...narrow, key: ['id', 'pos'], columns: narrow.columns.filter((c) => c.name !== 'text') };
    await expect(sink.prepare(fewer)).resolves.toBeUndefined(); // text is nullable: fine
    const noPos = { ...narrow, key: ['id'], columns: narrow.columns.filter((c) => c.name !== 'pos') };
    await expect(sink.prepare(noPos)).rejects.toThrow(/column pos is not nullable and is not exported/);
  } finally {
    await sink.close();
  }
  const absent = lancedb({ uri: dir, table: 'absent' });
  await expect(absent.prepare(chunkSchema())).rejects.toThrow(/table absent does not exist \(set create: true/);
  await absent.close();

  const jsonKey = lancedb({ uri: dir, table: 'jsonkey', create: true });
  await expect(jsonKey.prepare({ source: 's', key: ['k'], columns: [{ name: 'k', type: t.json().spec }] })).rejects.toThrow(ConfigError);
  await jsonKey.close();
});
