/**
 * bench:core — Tessera's overhead on cheap work. 100,000 rows through a pipeline of three cheap
 * computed columns with two worker processes, against a hand-written single process that computes
 * the same values and writes them with one COPY. Bar (issue 9): Tessera reaches >= 0.65 of the baseline's rows/s.
 *
 * Both vary from run to run on a shared machine (the baseline alone by 2x), so the two are measured
 * in alternating rounds (BENCH_ROUNDS, default 5: a round's ratio ranges from 0.47 to 0.93 on a loaded machine) and the ratio is the median of the rounds' ratios.
 * Tessera's fleet stays up between rounds, as a real one does: each round inserts 100,000 new rows
 * into the same table (which grows); each baseline round writes a new table, with the fleet's
 * processes stopped (SIGSTOP) meanwhile so that its idle polling takes nothing from it. Before each
 * part, Postgres finishes what the part before left it (autovacuum, a checkpoint).
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
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
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
const rowsOf = (round: number) =>
  Array.from({ length: ROWS }, (_, k) => {
    const i = round * ROWS + k;
    return { id: i, a: i % 1000, s: `event ${i} from sensor ${i % 97}` };
  });

/** Tessera's fleet, up for every round. */
async function startTessera() {
  const engine = await Engine.connect(loadConfig(env));
  await engine.apply(def);
  const workers = await Promise.all([spawnWorker(env), spawnWorker(env)]);
  return {
    /** one round: its rows inserted, every computed cell written; rows/s and the insert's share */
    async round(round: number): Promise<{ rowsPerSec: number; insertSeconds: number; seconds: number }> {
      const rows = rowsOf(round);
      const t0 = performance.now();
      const { version } = await engine.insert('core-bench', 'events', rows);
      const insertSeconds = (performance.now() - t0) / 1000;
      // as a writer waits for its own rows: computed, none pending, the version's finalize run
      await engine.waitVersion('core-bench', 'events', version, { timeoutMs: 600_000 });
      const seconds = (performance.now() - t0) / 1000;
      const probe = rows[12345 % ROWS]!;
      const [check] = await engine.store.select('core-bench', 'events', { where: { id: probe.id } });
      if (check?.s_upper !== probe.s.toUpperCase() || check?.a_sq !== probe.a * probe.a) throw new Error(`wrong result ${JSON.stringify(check)}`);
      return { rowsPerSec: ROWS / seconds, insertSeconds, seconds };
    },
    /** the idle fleet's timers (polls, stalled checks, the reconcile tick) take nothing from a baseline round */
    freeze(frozen: boolean) {
      for (const w of workers) w.child.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await engine.close();
    },
  };
}

/** The same values computed in one process and written with one COPY: no queue, no versions, no jobs. */
async function baseline(round: number): Promise<number> {
  const rows = rowsOf(round);
  const client = new pg.Client({ connectionString: env.TESSERA_DATABASE_URL });
  await client.connect();
  const table = `"${env.TESSERA_SCHEMA}".baseline_${round}`;
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${env.TESSERA_SCHEMA}"`);
  await client.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, a bigint, s text, s_upper text, a_sq bigint, s_len bigint)`);
  const t0 = performance.now();
  // the very same UDF functions the workers run
  const call = async (u: Udf, args: unknown[]) => (u.spec.fn as (a: unknown[], ctx: unknown) => unknown)(args, undefined);
  // lines joined into chunks of about 64 KB, as a hand-written COPY would send them: one chunk per
  // line costs the baseline two socket writes per row (pg-copy-streams sends each chunk with its
  // own header), which on a machine where system calls are dear made it 3-4x slower than itself
  const chunks: string[] = [];
  let chunk = '';
  for (const r of rows) {
    const values = [r.id, r.a, r.s, await call(upper, [r.s]), await call(square, [r.a]), await call(length, [r.s])];
    chunk += `${values.join('\t')}\n`;
    if (chunk.length >= 65_536) {
      chunks.push(chunk);
      chunk = '';
    }
  }
  if (chunk) chunks.push(chunk);
  await pump(Readable.from(chunks), client.query(copyStreams.from(`COPY ${table} FROM STDIN`)));
  const seconds = (performance.now() - t0) / 1000;
  await client.end();
  return ROWS / seconds;
}

/**
 * Before each measured part: the work the part before left to Postgres (autovacuum of a table
 * just written, dirty pages to flush) done first, so neither side pays for the other's.
 */
async function settle(): Promise<void> {
  const client = new pg.Client({ connectionString: env.TESSERA_DATABASE_URL });
  await client.connect();
  try {
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`);
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  const fleet = await startTessera();
  const rounds: Array<{ base: number; ours: number; insertSeconds: number; seconds: number; ratio: number }> = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      fleet.freeze(true);
      await settle();
      const base = await baseline(r).finally(() => fleet.freeze(false));
      await settle();
      const ours = await fleet.round(r);
      rounds.push({ base, ours: ours.rowsPerSec, insertSeconds: ours.insertSeconds, seconds: ours.seconds, ratio: ours.rowsPerSec / base });
      console.log(
        `round ${r + 1}: baseline ${base.toFixed(0)} rows/s, tessera ${ours.rowsPerSec.toFixed(0)} rows/s (insert ${ours.insertSeconds.toFixed(2)} s of ${ours.seconds.toFixed(2)} s), ratio ${(ours.rowsPerSec / base).toFixed(3)}`,
      );
    }
  } finally {
    await fleet.stop();
  }
  const base = median(rounds.map((x) => x.base));
  const ours = median(rounds.map((x) => x.ours));
  const ratio = median(rounds.map((x) => x.ratio));
  console.log(`baseline (1 process, COPY): ${base.toFixed(0)} rows/s (median of ${ROUNDS})`);
  console.log(`tessera (2 workers):        ${ours.toFixed(0)} rows/s (median of ${ROUNDS})`);
  console.log(`ratio: ${ratio.toFixed(3)} (median of the rounds' ratios; bar >= ${BAR}) ${ratio >= BAR ? 'PASS' : 'FAIL'}`);
  console.log(
    `BENCH ${JSON.stringify({
      bench: 'core',
      rows: ROWS,
      rounds: ROUNDS,
      workers: 2,
      batchSize: Number(env.TESSERA_BATCH_SIZE),
      tesseraRowsPerSec: Math.round(ours),
      baselineRowsPerSec: Math.round(base),
      ratio: Number(ratio.toFixed(3)),
      roundRatios: rounds.map((x) => Number(x.ratio.toFixed(3))),
      bar: BAR,
      pass: ratio >= BAR,
    })}`,
  );
} finally {
  await cleanup(loadConfig(env));
}
