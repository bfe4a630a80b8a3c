/**
 * bench:wide-rows — a worker's memory on large rows. ROWS documents of about ROW_CHARS characters
 * each (800 of 1 MB by default) are stored first, then a batched column, a view and a Postgres
 * export of their text are added, so one worker process backfills them in one batch of up to 1,000
 * rows: the stage job computes the column, an iterate job the view, the finalize job the export.
 * Batches, iterations and export chunks read their rows within TESSERA_BATCH_BYTES (16 MiB by
 * default); unbounded, one batch held every row at once. Each run is measured twice, alternating:
 * with the default budget and with none. What it prints: the worker's peak resident memory
 * (VmHWM), the backfill's seconds from the worker's start until the export is done, and a check
 * that every row was computed, iterated and exported whole.
 *
 * Bar: the worker peaks under 1 GiB with the default budget (the k8s `cpu` class allows 2 GiB).
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { Engine, loadConfig } from '@tessera/runtime';
import { spawnWorker } from '../test/support/worker-process';
import { cleanup, dropSchema } from '../test/support/cleanup';
import { waitForExports } from '../test/support/wait';

const ROWS = Number(process.env.BENCH_ROWS ?? 800);
const ROW_CHARS = Number(process.env.BENCH_ROW_CHARS ?? 1_000_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const BAR_MB = 1024;
const DB = process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** "the customer's" schema the export writes to, read by the pipeline's module when it loads (here and in the worker) */
const exportSchema = `wide_bench_${randomBytes(3).toString('hex')}`;
process.env.TESSERA_BENCH_EXPORT_SCHEMA = exportSchema;
const { default: def, base } = await import('./pipelines/wide-bench/index');
/** unbounded: more than any batch holds */
const NO_BUDGET = String(2 ** 40);

/** The peak resident memory of a live process, in MB. */
function peakMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

/** Incompressible text (random base64), so each row is stored at its size: a row's id ends it. */
function body(i: number, filler: string): string {
  const tail = String(i).padStart(12, '0');
  return filler.slice(0, ROW_CHARS - tail.length) + tail;
}

async function run(budget: string | undefined): Promise<{ peakMb: number; seconds: number }> {
  const id = randomBytes(3).toString('hex');
  const env: Record<string, string> = {
    TESSERA_DATABASE_URL: DB,
    TESSERA_REDIS_URL: process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379',
    TESSERA_SCHEMA: `bench_wide_${id}`,
    TESSERA_QUEUE_PREFIX: `bench-wide-${id}`,
    TESSERA_PIPELINES: path.resolve(import.meta.dirname, 'pipelines/wide-bench'),
    TESSERA_BATCH_SIZE: '1000',
    // no periodic reconcile: its ticks would keep the control queue busy while the bench waits for it to drain
    TESSERA_RECONCILE_EVERY_MS: '0',
    TESSERA_BENCH_EXPORT_SCHEMA: exportSchema,
    TESSERA_LOG_LEVEL: 'warn',
    ...(budget ? { TESSERA_BATCH_BYTES: budget } : {}),
  };
  const cfg = loadConfig(env);
  const engine = await Engine.connect(cfg);
  const db = new pg.Client({ connectionString: DB });
  await db.connect();
  try {
    await engine.apply(base);
    const filler = randomBytes(Math.ceil((ROW_CHARS * 3) / 4)).toString('base64');
    for (let lo = 0; lo < ROWS; lo += 50) {
      const ids = Array.from({ length: Math.min(50, ROWS - lo) }, (_, k) => lo + k);
      await engine.insert(
        'wide-bench',
        'docs',
        ids.map((i) => ({ id: i, body: body(i, filler) })),
      );
    }
    // the column, the view and the export: one backfill of every stored row
    await engine.apply(def);
    const t0 = performance.now();
    const worker = await spawnWorker(env);
    try {
      await waitForExports(engine, 'wide-bench', { queues: ['control', 'cpu'], timeoutMs: 1_800_000 });
      const seconds = (performance.now() - t0) / 1000;
      const peak = peakMb(worker.child.pid!);
      const { rows } = await db.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE length(body) = $1 AND chars = $1 AND right(body, 12) = lpad(id::text, 12, '0'))::int AS whole
           FROM ${exportSchema}.wide_docs`,
        [ROW_CHARS],
      );
      const ends = (await engine.store.select('wide-bench', 'ends', { columns: ['id'] })).length;
      if (rows[0].n !== ROWS || rows[0].whole !== ROWS || ends !== 2 * ROWS)
        throw new Error(`backfill incomplete: ${rows[0].n} rows exported, ${rows[0].whole} whole, ${ends} view rows (expected ${ROWS}, ${ROWS}, ${2 * ROWS})`);
      // where a run's time went: the worker's own log, job by job
      if (process.env.BENCH_WORKER_LOG) console.error(worker.output());
      return { peakMb: peak, seconds: Math.round(seconds * 10) / 10 };
    } finally {
      await worker.stop();
    }
  } finally {
    await db.end();
    await engine.close();
    await cleanup(cfg);
    await dropSchema(DB, exportSchema);
  }
}

const bounded: Array<{ peakMb: number; seconds: number }> = [];
const unbounded: Array<{ peakMb: number; seconds: number }> = [];
for (let r = 0; r < ROUNDS; r++) {
  // alternating, so a machine that slows down during the bench weighs on both alike
  bounded.push(await run(undefined));
  unbounded.push(await run(NO_BUDGET));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const boundedPeak = Math.max(...bounded.map((b) => b.peakMb));
console.log(
  `BENCH ${JSON.stringify({
    bench: 'wide-rows',
    rows: ROWS,
    rowChars: ROW_CHARS,
    batchBytes: 16 * 1024 * 1024,
    boundedPeakMb: bounded.map((b) => b.peakMb),
    boundedSeconds: bounded.map((b) => b.seconds),
    unboundedPeakMb: unbounded.map((b) => b.peakMb),
    unboundedSeconds: unbounded.map((b) => b.seconds),
    peakRatio: Math.round((median(bounded.map((b) => b.peakMb)) / median(unbounded.map((b) => b.peakMb))) * 1000) / 1000,
    timeRatio: Math.round((median(bounded.map((b) => b.seconds)) / median(unbounded.map((b) => b.seconds))) * 1000) / 1000,
    node: process.version,
    loadAvg: (await import('node:os'))
      .loadavg()
      .slice(0, 2)
      .map((l) => Math.round(l * 10) / 10),
    bar: { boundedPeakMb: BAR_MB },
    pass: boundedPeak <= BAR_MB,
  })}`,
);
process.exit(0);
