/**
 * bench:core — Tessera's overhead on cheap work. 100,000 rows through a pipeline of three cheap
 * computed columns with two worker processes, against a hand-written single process that computes
 * the same values and writes them with one COPY. Bar (issue 9): Tessera reaches >= 0.65 of the baseline's rows/s.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pipeline as pump } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { Engine, loadConfig } from '@tessera/runtime';
import type { Udf } from '@tessera/core';
import { spawnWorker } from '../test/support/worker-process';
import { cleanup } from '../test/support/cleanup';
import def, { upper, square, length } from './pipelines/core-bench/index';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BAR = 0.65;
const id = randomBytes(3).toString('hex');
const env = {
  TESSERA_DATABASE_URL: process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  TESSERA_REDIS_URL: process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379',
  TESSERA_SCHEMA: `bench_core_${id}`,
  TESSERA_QUEUE_PREFIX: `bench-core-${id}`,
  TESSERA_PIPELINES: path.resolve(import.meta.dirname, 'pipelines/core-bench'),
  TESSERA_BATCH_SIZE: process.env.TESSERA_BATCH_SIZE ?? '2000',
  TESSERA_LOG_LEVEL: 'warn',
};
const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i, a: i % 1000, s: `event ${i} from sensor ${i % 97}` }));

let insertSeconds = 0;

async function tessera(): Promise<number> {
  const engine = await Engine.connect(loadConfig(env));
  await engine.apply(def);
  const workers = await Promise.all([spawnWorker(env), spawnWorker(env)]);
  try {
    const t0 = performance.now();
    await engine.insert('core-bench', 'events', rows);
    insertSeconds = (performance.now() - t0) / 1000;
    await engine.waitIdle('core-bench', { timeoutMs: 600_000, pollMs: 50 });
    const seconds = (performance.now() - t0) / 1000;
    const [check] = await engine.store.select('core-bench', 'events', { where: { id: 12345 } });
    if (check?.s_upper !== 'EVENT 12345 FROM SENSOR 26' || check?.a_sq !== 345 * 345) throw new Error(`wrong result ${JSON.stringify(check)}`);
    return ROWS / seconds;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await engine.close();
  }
}

/** The same values computed in one process and written with one COPY: no queue, no versions, no jobs. */
async function baseline(): Promise<number> {
  const client = new pg.Client({ connectionString: env.TESSERA_DATABASE_URL });
  await client.connect();
  const table = `"${env.TESSERA_SCHEMA}".baseline`;
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${env.TESSERA_SCHEMA}"`);
  await client.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, a bigint, s text, s_upper text, a_sq bigint, s_len bigint)`);
  const t0 = performance.now();
  // the very same UDF functions the workers run
  const call = async (u: Udf, args: unknown[]) => (u.spec.fn as (a: unknown[], ctx: unknown) => unknown)(args, undefined);
  const lines: string[] = [];
  for (const r of rows) {
    const values = [r.id, r.a, r.s, await call(upper, [r.s]), await call(square, [r.a]), await call(length, [r.s])];
    lines.push(`${values.join('\t')}\n`);
  }
  await pump(Readable.from(lines), client.query(copyStreams.from(`COPY ${table} FROM STDIN`)));
  const seconds = (performance.now() - t0) / 1000;
  await client.end();
  return ROWS / seconds;
}

try {
  const base = await baseline();
  const ours = await tessera();
  const ratio = ours / base;
  console.log(`baseline (1 process, COPY): ${base.toFixed(0)} rows/s`);
  console.log(`tessera (2 workers):        ${ours.toFixed(0)} rows/s (insert ${insertSeconds.toFixed(2)} s of ${(ROWS / ours).toFixed(2)} s)`);
  console.log(`ratio: ${ratio.toFixed(3)} (bar >= ${BAR}) ${ratio >= BAR ? 'PASS' : 'FAIL'}`);
  console.log(
    `BENCH ${JSON.stringify({ bench: 'core', rows: ROWS, workers: 2, batchSize: Number(env.TESSERA_BATCH_SIZE), tesseraRowsPerSec: Math.round(ours), baselineRowsPerSec: Math.round(base), ratio: Number(ratio.toFixed(3)), bar: BAR, pass: ratio >= BAR })}`,
  );
} finally {
  await cleanup(loadConfig(env));
}
