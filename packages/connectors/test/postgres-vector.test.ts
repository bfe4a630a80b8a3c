import pg from 'pg';
import { postgres } from '@tessera/connectors';
import { chunkRows, chunkSchema, uniqueName } from './support/schema';
import { PG_URL } from '../../../test/support/services';
import { startPgliteWithVector } from './support/pglite-vector';
import { CopyWriter } from '../src/sinks/postgres/copy-binary';
import { planPgColumn } from '../src/sinks/postgres/pg-columns';

test('with pgvector installed, embeddings go to vector(n) and read back exactly (PGlite + pgvector)', async () => {
  const pgl = await startPgliteWithVector();
  // PGlite's socket server does not speak COPY FROM STDIN, so this sink sends batches as array parameters
  const sink = postgres({ url: pgl.url, table: 'chunks', create: true, maxConnections: 1, load: 'params' });
  try {
    const schema = chunkSchema(3);
    const rows = chunkRows(4, { dim: 3 });
    await sink.upsert(schema, rows);
    await sink.upsert(schema, rows);
    await sink.upsert(schema, chunkRows(2, { dim: 3, from: 3, tag: 'v2' }));
    await sink.delete(schema, [{ id: 'doc-0', pos: 0 }]);
    await sink.close();
    const type = await pgl.db.query<{ t: string }>(
      `select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = 'chunks'::regclass and attname = 'embedding'`,
    );
    expect(type.rows[0]!.t).toBe('vector(3)');
    const got = await pgl.db.query<{ pos: number; e: string; text: string }>(`select pos::int as pos, embedding::text as e, text from chunks order by pos`);
    expect(got.rows.map((r) => r.pos)).toEqual([1, 2, 3, 4]);
    expect(got.rows.find((r) => r.pos === 2)!.e).toBe(`[${rows[2]!.embedding.join(',')}]`);
    expect(got.rows.find((r) => r.pos === 4)!.text).toMatch(/v2$/);
    const nearest = await pgl.db.query<{ pos: number }>(`select pos::int as pos from chunks order by embedding <-> '[0.25,0.375,0.5]' limit 1`);
    expect(nearest.rows[0]!.pos).toBe(2);

    // the binary COPY encoding of vector(n) that the default load path uses, checked against pgvector's own reader
    const col = planPgColumn('e', chunkSchema(3).columns.find((c) => c.name === 'embedding')!.type, 'pgvector');
    const w = new CopyWriter();
    for (const e of [
      [1.5, -2, 0.25],
      [0, 0, 1e-3],
    ]) {
      w.int16(1);
      col.binary(w, e);
    }
    const blob = new Blob([CopyWriter.header(), w.take(), CopyWriter.trailer()]);
    await pgl.db.exec('create table staged (e vector(3))');
    await pgl.db.query(`copy staged from '/dev/blob' with (format binary)`, [], { blob });
    const staged = await pgl.db.query<{ e: string }>('select e::text as e from staged');
    expect(staged.rows.map((r) => r.e)).toEqual(['[1.5,-2,0.25]', '[0,0,0.001]']);
  } finally {
    await pgl.stop();
  }
}, 120_000);

test('without the extension (the machine Postgres has none), embeddings fall back to real[]; pgvector on demand is a clear error', async () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const schemaName = uniqueName('conn_vec');
  await admin.query(`create schema "${schemaName}"`);
  try {
    const installed = await admin.query(`select 1 from pg_extension where extname = 'vector'`);
    expect(installed.rowCount).toBe(0);
    const auto = postgres({ url: PG_URL, schema: schemaName, table: 'auto', create: true, vector: 'auto' });
    await auto.upsert(chunkSchema(3), chunkRows(2, { dim: 3 }));
    await auto.close();
    const t = await admin.query(
      `select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = '"${schemaName}".auto'::regclass and attname = 'embedding'`,
    );
    expect(t.rows[0].t).toBe('real[]');
    const forced = postgres({ url: PG_URL, schema: schemaName, table: 'forced', create: true, vector: 'pgvector' });
    await expect(forced.prepare(chunkSchema(3))).rejects.toThrow(/vector: 'pgvector' was asked for, but the extension is not installed/);
    await forced.close();
  } finally {
    await admin.query(`drop schema "${schemaName}" cascade`);
    await admin.end();
  }
});
