/**
 * Export throughput: Tessera's Postgres and MySQL sinks against hand-written baselines, same rows,
 * same kind of table, same process. Postgres: the sink's batched upsert vs COPY (pg-copy-streams).
 * MariaDB: the sink's prepared multi-row upsert vs a hand-written multi-row INSERT.
 *
 *   npx tsx bench/exports.bench.ts        (BENCH_ROWS=100000 BENCH_DIM=768 BENCH_ROUNDS=1)
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import mysql from 'mysql2/promise';
import { t, type ExportRow, type ExportSchema } from '@tessera/core';
import { postgres, mysql as mysqlSink } from '@tessera/connectors';

const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MY_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const DIM = Number(process.env.BENCH_DIM ?? 768);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const JOB_ROWS = 5_000; // rows per export job, as the runtime would batch them
const BAR = 0.6;
const tag = `bench_${process.pid}`;

const schema: ExportSchema = {
  source: 'chunks',
  key: ['id'],
  columns: [
    { name: 'id', type: t.string().primaryKey().spec },
    { name: 'text', type: t.string().spec },
    { name: 'embedding', type: t.embedding(DIM).spec },
  ],
};

// a pool of distinct embeddings, reused across rows: memory stays small, encoding work is the same per row
const pool = Array.from({ length: 1000 }, () => Array.from({ length: DIM }, () => Math.fround(Math.random() * 2 - 1)));
const rows: ExportRow[] = Array.from({ length: ROWS }, (_, i) => ({
  id: `doc-${i}`,
  text: `chunk number ${i} of some document, with a little text to carry`,
  embedding: pool[i % pool.length]!,
}));

const rate = (ms: number) => Math.round(ROWS / (ms / 1000));
const best = (xs: number[]) => Math.max(...xs);

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function sinkRun(sink: { upsert(s: ExportSchema, r: ExportRow[]): Promise<void> }): Promise<void> {
  for (let i = 0; i < rows.length; i += JOB_ROWS) await sink.upsert(schema, rows.slice(i, i + JOB_ROWS));
}

/** A hand-written binary COPY row (text, text, float4[]): a second, harder baseline that skips number formatting. */
function binaryCopyRow(row: ExportRow): Buffer {
  const id = Buffer.from(String(row.id));
  const text = Buffer.from(String(row.text));
  const emb = row.embedding as number[];
  const b = Buffer.allocUnsafe(2 + 4 + id.length + 4 + text.length + 4 + 20 + emb.length * 8);
  let p = b.writeInt16BE(3, 0);
  p = b.writeInt32BE(id.length, p);
  p += id.copy(b, p);
  p = b.writeInt32BE(text.length, p);
  p += text.copy(b, p);
  p = b.writeInt32BE(20 + emb.length * 8, p);
  p = b.writeInt32BE(1, p);
  p = b.writeInt32BE(0, p);
  p = b.writeInt32BE(700, p);
  p = b.writeInt32BE(emb.length, p);
  p = b.writeInt32BE(1, p);
  for (const x of emb) {
    p = b.writeInt32BE(4, p);
    p = b.writeFloatBE(x, p);
  }
  return b;
}

async function copyInto(table: string, format: 'text' | 'binary'): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const stream = c.query(copyFrom(`copy ${tag}.${table} (id, text, embedding) from stdin${format === 'binary' ? ' with (format binary)' : ''}`));
    const done = new Promise<void>((res, rej) => stream.on('finish', res).on('error', rej));
    if (format === 'binary') stream.write(Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]));
    for (let i = 0; i < rows.length; i += 1000) {
      const part = rows.slice(i, i + 1000);
      let chunk: string | Buffer;
      if (format === 'binary') chunk = Buffer.concat(part.map(binaryCopyRow));
      else {
        chunk = '';
        for (const row of part) chunk += `${row.id}\t${row.text}\t{${(row.embedding as number[]).join(',')}}\n`;
      }
      if (!stream.write(chunk)) await new Promise((res) => stream.once('drain', res));
    }
    stream.end(format === 'binary' ? Buffer.from([0xff, 0xff]) : undefined);
    await done;
  } finally {
    await c.end();
  }
}

async function benchPostgres(): Promise<{ sink: number; copy: number; copyBinary: number }> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema if not exists ${tag}`);
  const ddl = (name: string) => `create table ${tag}.${name} (id text primary key, text text not null, embedding real[] not null)`;
  const sinkRates: number[] = [];
  const copyRates: number[] = [];
  const binaryRates: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      await admin.query(`drop table if exists ${tag}.by_copy; drop table if exists ${tag}.by_copy_bin; drop table if exists ${tag}.by_sink`);
      await admin.query(ddl('by_copy'));
      await admin.query(ddl('by_copy_bin'));
      await admin.query(ddl('by_sink'));
      await admin.query('checkpoint').catch(() => undefined);

      // baseline: COPY (text format, as one writes it by hand) straight into the table
      copyRates.push(rate(await timed(() => copyInto('by_copy', 'text'))));
      await admin.query('checkpoint').catch(() => undefined);
      binaryRates.push(rate(await timed(() => copyInto('by_copy_bin', 'binary'))));
      await admin.query('checkpoint').catch(() => undefined);

      const sink = postgres({ url: PG_URL, schema: tag, table: 'by_sink' });
      await sink.prepare(schema);
      sinkRates.push(rate(await timed(() => sinkRun(sink))));
      await sink.close();
      const counts = await admin.query(
        `select (select count(*) from ${tag}.by_copy) a, (select count(*) from ${tag}.by_sink) b, (select count(*) from ${tag}.by_copy_bin) c`,
      );
      if ([counts.rows[0].a, counts.rows[0].b, counts.rows[0].c].some((n) => Number(n) !== ROWS))
        throw new Error(`row counts differ: ${JSON.stringify(counts.rows[0])}`);
      console.log(`postgres round ${r + 1}: copy ${copyRates.at(-1)} rows/s, binary copy ${binaryRates.at(-1)} rows/s, sink ${sinkRates.at(-1)} rows/s`);
    }
  } finally {
    await admin.query(`drop schema ${tag} cascade`);
    await admin.end();
  }
  return { sink: best(sinkRates), copy: best(copyRates), copyBinary: best(binaryRates) };
}

async function benchMysql(): Promise<{ sink: number; insert: number }> {
  const admin = await mysql.createConnection({ uri: MY_URL });
  const ddl = (name: string) =>
    `CREATE TABLE ${tag}_${name} (id VARCHAR(512) NOT NULL PRIMARY KEY, text LONGTEXT, embedding JSON) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
  const sinkRates: number[] = [];
  const insertRates: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      await admin.query(`DROP TABLE IF EXISTS ${tag}_by_insert, ${tag}_by_sink`);
      await admin.query(ddl('by_insert'));
      await admin.query(ddl('by_sink'));

      // baseline: hand-written multi-row INSERT, client-side escaped, ~8 MB statements, one transaction per job
      insertRates.push(
        rate(
          await timed(async () => {
            const c = await mysql.createConnection({ uri: MY_URL });
            try {
              for (let j = 0; j < rows.length; j += JOB_ROWS) {
                await c.beginTransaction();
                const job = rows.slice(j, j + JOB_ROWS);
                const per = Math.max(1, Math.floor((8 * 1024 * 1024) / (DIM * 20 + 100)));
                for (let i = 0; i < job.length; i += per) {
                  const values = job.slice(i, i + per).map((row) => [row.id, row.text, JSON.stringify(row.embedding)]);
                  await c.query(`INSERT INTO ${tag}_by_insert (id, text, embedding) VALUES ?`, [values]);
                }
                await c.commit();
              }
            } finally {
              await c.end();
            }
          }),
        ),
      );

      const sink = mysqlSink({ url: MY_URL, table: `${tag}_by_sink` });
      await sink.prepare(schema);
      sinkRates.push(rate(await timed(() => sinkRun(sink))));
      await sink.close();
      const [counts] = await admin.query<mysql.RowDataPacket[]>(`SELECT (SELECT COUNT(*) FROM ${tag}_by_insert) a, (SELECT COUNT(*) FROM ${tag}_by_sink) b`);
      if (Number(counts[0]!.a) !== ROWS || Number(counts[0]!.b) !== ROWS) throw new Error(`row counts differ: ${JSON.stringify(counts[0])}`);
      console.log(`mariadb round ${r + 1}: insert ${insertRates.at(-1)} rows/s, sink ${sinkRates.at(-1)} rows/s`);
    }
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${tag}_by_insert, ${tag}_by_sink`);
    await admin.end();
  }
  return { sink: best(sinkRates), insert: best(insertRates) };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const p = await benchPostgres();
const m = await benchMysql();
const result = {
  rows: ROWS,
  dim: DIM,
  rounds: ROUNDS,
  postgres_sink_rows_per_s: p.sink,
  postgres_copy_rows_per_s: p.copy,
  postgres_ratio: round2(p.sink / p.copy),
  postgres_bar: BAR,
  postgres_copy_binary_rows_per_s: p.copyBinary,
  postgres_ratio_vs_binary_copy: round2(p.sink / p.copyBinary),
  mysql_sink_rows_per_s: m.sink,
  mysql_insert_rows_per_s: m.insert,
  mysql_ratio: round2(m.sink / m.insert),
  mysql_bar: BAR,
  pass: p.sink / p.copy >= BAR && m.sink / m.insert >= BAR,
};
console.log(`postgres: sink ${p.sink} rows/s vs COPY ${p.copy} rows/s, ratio ${result.postgres_ratio} (bar ${BAR})`);
console.log(`postgres: sink vs a hand-written binary COPY ${p.copyBinary} rows/s, ratio ${result.postgres_ratio_vs_binary_copy} (informative)`);
console.log(`mariadb: sink ${m.sink} rows/s vs multi-row INSERT ${m.insert} rows/s, ratio ${result.mysql_ratio} (bar ${BAR})`);
console.log(`BENCH ${JSON.stringify(result)}`);
