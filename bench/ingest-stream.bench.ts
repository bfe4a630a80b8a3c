/**
 * bench:ingest-stream — streaming ingest against bulk ingest, end to end. The same N rows go through
 * 2 worker processes (apps/worker) running bench/pipelines/stream-bench (2 cheap computed columns and
 * a Postgres export), once as ingest jobs of 1,000 rows and once as 1 row per job added by a plain
 * BullMQ producer at full speed; each is timed from the first add until every row is in the export
 * table with its computed values. Then, on the idle fleet, a trickle of single rows, one at a time:
 * add -> exported latency, p50 and p95. Prints rows/s of both, the ratio (bar >= 0.5, aim 0.8), the
 * versions each made, the latencies (bar: p50 <= 2 s), and one `BENCH {...}` line.
 *
 * Also, for reading the ratio (not part of the bar): the same single-row jobs added to the paused
 * queue first, then timed from resume until exported (`drainRatio`). Here the producer shares the
 * 2 cores with Redis, Postgres and the workers; this figure is what the fleet does without it. The
 * time those adds take is the producer's own (`producerAloneS`): the stream phase cannot end before
 * it, so bulk time over it (`ratioCeiling`) is what a fleet costing nothing would reach. Last, bulk,
 * stream and drain once more on the now warm workers (`ratioWarm`, `drainRatioWarm`, not the bar):
 * the bar's phases run on fresh worker processes, still running unoptimized code, which slows bulk
 * (the path of its versions through the workers) much more than the stream (the CPU of 20,000 jobs
 * on saturated cores). A fleet that runs all day is warm: `drainRatioWarm` is its steady state with
 * the producer on other machines, `ratioWarm` with the producer on the fleet's cores.
 * On Linux each phase's CPU-seconds per process (this producer, the workers, Redis, Postgres) and
 * how many cores were busy on average are printed too (`cpuSeconds`), with the Node version.
 *
 * `BENCH_TIMELINE=<dir>` writes each phase's timeline there (see support/timeline.ts).
 *
 *   npm run bench:ingest-stream     (BENCH_ROWS=20000 BENCH_TRICKLE=20 TESSERA_INGEST_WINDOW_MS=50)
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Engine, loadConfig } from '@tessera/runtime';
import { spawnWorker, type WorkerProcess } from '../test/support/worker-process';
import { cleanup } from '../test/support/cleanup';
import { pidsNamed, startCpuMeter } from './support/process-cpu';
import { startTimeline } from './support/timeline';

// 20,000 rows (the issue asks for at least 5,000): at 5,000 the bulk case is done in about a second
// on a quiet machine, so the ratio measures the fixed latency of a version (window, DAG, export),
// not throughput (0.33-0.50 at 5,000 rows vs 0.57-0.62 at 20,000, same code, same machine)
const ROWS = Number(process.env.BENCH_ROWS ?? 20_000);
const BULK_JOB_ROWS = 1000;
const TRICKLE = Number(process.env.BENCH_TRICKLE ?? 20);
/** producer calls in flight: a producer "at full speed" pipelines its adds */
const PRODUCER_IN_FLIGHT = 100;
/** jobs per addBulk call (each job still one row, one BullMQ job) */
const BULK_ADD_CHUNK = 100;
const BAR_RATIO = 0.5;
const BAR_P50_MS = 2000;
const id = randomBytes(3).toString('hex');
const databaseUrl = process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const exportSchema = `bench_stream_export_${id}`;
const env = {
  TESSERA_DATABASE_URL: databaseUrl,
  TESSERA_REDIS_URL: process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379',
  TESSERA_SCHEMA: `bench_stream_${id}`,
  TESSERA_QUEUE_PREFIX: `bench-stream-${id}`,
  TESSERA_PIPELINES: path.resolve(import.meta.dirname, 'pipelines/stream-bench'),
  TESSERA_BATCH_SIZE: process.env.TESSERA_BATCH_SIZE ?? '1000',
  TESSERA_INGEST_WINDOW_MS: process.env.TESSERA_INGEST_WINDOW_MS ?? '50',
  TESSERA_INGEST_MAX_ROWS: process.env.TESSERA_INGEST_MAX_ROWS ?? '1000',
  TESSERA_LOG_LEVEL: 'warn',
  TESSERA_STREAM_EXPORT_URL: databaseUrl,
  TESSERA_STREAM_EXPORT_SCHEMA: exportSchema,
};
process.env.TESSERA_STREAM_EXPORT_SCHEMA = exportSchema;
process.env.TESSERA_STREAM_EXPORT_URL = databaseUrl;
const { default: def } = await import('./pipelines/stream-bench/index');

const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();
const engine = await Engine.connect(loadConfig(env));
const redis = new Redis(env.TESSERA_REDIS_URL, { maxRetriesPerRequest: null });
const producer = new Queue('ingest', { connection: redis, prefix: env.TESSERA_QUEUE_PREFIX });
const row = (prefix: string, i: number) => ({ id: `${prefix}${i}`, body: `event ${i} from sensor ${i % 97}`, n: i });

/**
 * Rows of `prefix` in the export table with their computed values; with `only`, whether that one row
 * is there (an index lookup, where the count scans the whole table).
 */
async function exported(prefix: string, only?: string): Promise<number> {
  try {
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM ${exportSchema}.events WHERE id ${only ? '=' : 'LIKE'} $1 AND loud IS NOT NULL AND size IS NOT NULL`,
      [only ?? `${prefix}%`],
    );
    return rows[0].n;
  } catch (e) {
    if ((e as { code?: string }).code === '42P01') return 0; // the first export creates the table
    throw e;
  }
}
const TRACE = process.env.BENCH_TRACE === '1';
/** a directory: each phase's timeline (CPU per process, the queues' lists, every 10 ms) is written there */
const TIMELINE = process.env.BENCH_TIMELINE;
/**
 * Wait until the `n` rows of `prefix` are exported. The count scans the export table, which grows
 * by 20,000 rows a phase: polled every 50 ms from the first add, its Postgres time (10 ms a poll
 * by the sixth phase) was charged to the fleet, more to a longer phase. So until `last` (the row
 * added last) is exported, which the count needs anyway, only that row is looked up.
 */
async function waitExported(prefix: string, n: number, pollMs = 50, last?: string) {
  const end = Date.now() + 900_000;
  const t0 = Date.now();
  let lastTrace = 0;
  let lastSeen = last === undefined;
  for (;;) {
    lastSeen ||= (await exported(prefix, last)) > 0;
    // a single row is the one looked up
    const got = !lastSeen ? 0 : n === 1 && last !== undefined ? 1 : await exported(prefix);
    if (TRACE && Date.now() - lastTrace > 250) {
      lastTrace = Date.now();
      const counts = await Promise.all(
        ['ingest', 'cpu', 'control'].map(
          async (q) => `${q} ${JSON.stringify(await engine.queue(q).getJobCounts('waiting', 'active', 'delayed', 'waiting-children'))}`,
        ),
      );
      console.log(`  +${Date.now() - t0} ms exported ${lastSeen ? got : 'not yet the last row'} v${await versionNow()} ${counts.join(' ')}`);
    }
    if (got >= n) break;
    if (Date.now() > end) throw new Error(`rows of ${prefix} not exported in 15 min`);
    // a failed ingest job never exports its row: say why now rather than wait out the 15 min
    const [failed] = await engine.queue('ingest').getFailed(0, 0);
    if (failed) throw new Error(`ingest job ${failed.id} failed: ${failed.failedReason}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
const versionNow = async () => (await engine.store.table('stream', 'events')).version;

type Producer = 'add' | 'addBulk';
/**
 * Add jobs as a plain BullMQ producer at full speed: `queue.addBulk` in chunks (BullMQ's way of
 * adding many jobs fast), or `queue.add` per job with `inFlight` calls pipelined (an app adding one
 * job per upload, from many requests at once).
 */
async function produce(payloads: Array<Record<string, unknown>>, inFlight: number, how: Producer = 'add') {
  if (how === 'addBulk') {
    for (let i = 0; i < payloads.length; i += BULK_ADD_CHUNK)
      await producer.addBulk(payloads.slice(i, i + BULK_ADD_CHUNK).map((p) => ({ name: String(p.op ?? 'insert'), data: p })));
    return;
  }
  for (let i = 0; i < payloads.length; i += inFlight) await Promise.all(payloads.slice(i, i + inFlight).map((p) => producer.add(String(p.op ?? 'insert'), p)));
}

/** `preAdded`: the jobs wait in the paused queue, and the clock starts at resume (the fleet alone). */
async function run(prefix: string, jobRows: number, how: Producer = 'add', preAdded = false) {
  const v0 = await versionNow();
  const payloads: Array<Record<string, unknown>> = [];
  for (let i = 0; i < ROWS; i += jobRows) {
    payloads.push({
      pipeline: 'stream',
      table: 'events',
      op: 'insert',
      rows: Array.from({ length: Math.min(jobRows, ROWS - i) }, (_, k) => row(prefix, i + k)),
    });
  }
  const add = () => produce(payloads, jobRows === 1 ? PRODUCER_IN_FLIGHT : 1, how);
  // adding to the paused queue is the producer's own time (the fleet has nothing to take meanwhile)
  let pausedAddS = 0;
  if (preAdded) {
    await producer.pause();
    const a0 = performance.now();
    await add();
    pausedAddS = (performance.now() - a0) / 1000;
  }
  const timeline = TIMELINE && path.join(TIMELINE, `${prefix}.jsonl`);
  const stopTimeline =
    timeline &&
    (await startTimeline(timeline, env.TESSERA_QUEUE_PREFIX, ['ingest', 'cpu', 'control'], {
      producer: [process.pid],
      ...Object.fromEntries(workers.map((w, k) => [`worker${k}`, [w.child.pid!]])),
      redis: 'redis-server',
      postgres: 'postgres',
    }));
  const stopMeter = startCpuMeter(cpuGroups);
  const t0 = performance.now();
  if (preAdded) await producer.resume();
  else await add();
  const addedS = (performance.now() - t0) / 1000;
  await waitExported(prefix, ROWS, 50, `${prefix}${ROWS - 1}`);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = stopMeter && withCoresBusy(stopMeter(), seconds);
  if (stopTimeline) {
    await stopTimeline();
    console.log(`timeline of phase ${prefix}: tsx bench/support/timeline.ts show ${timeline}`);
  }
  return { rowsPerSec: ROWS / seconds, seconds, addedS, pausedAddS, jobs: payloads.length, versions: (await versionNow()) - v0, cpu };
}

/**
 * Where each phase's CPU went, per process (Linux): the stream phase is CPU-bound on 2 shared cores,
 * so these say what a one-row job costs each part against bulk's rows. `producer` is this process
 * (the adds, and the polling of the export table).
 */
const workers: WorkerProcess[] = [];
const cpuGroups = {
  producer: () => [process.pid],
  workers: () => workers.map((w) => w.child.pid!),
  redis: () => pidsNamed('redis-server'),
  postgres: () => pidsNamed('postgres'),
};
/** CPU-seconds per part, their total, and how many cores were busy on average over the phase */
function withCoresBusy(used: Record<string, number>, seconds: number) {
  const total = Object.values(used).reduce((a, b) => a + b, 0);
  return { ...used, total: Number(total.toFixed(2)), coresBusy: Number((total / seconds).toFixed(2)) };
}

async function trickle() {
  const latencies: number[] = [];
  for (let i = 0; i < TRICKLE; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    await producer.add('insert', { pipeline: 'stream', table: 'events', op: 'insert', rows: [row(`t${i}-`, i)] });
    await waitExported(`t${i}-`, 1, 10, `t${i}-${i}`);
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { p50: pct(0.5), p95: pct(0.95), max: latencies.at(-1)! };
}

try {
  await engine.apply(def);
  workers.push(...(await Promise.all([spawnWorker(env), spawnWorker(env)])));
  // warm the fleet (first export creates the target table)
  await produce([{ pipeline: 'stream', table: 'events', rows: [row('w', 0)] }], 1);
  await waitExported('w', 1);
  const load0 = os.loadavg()[0]!;
  const bulk = await run('b', BULK_JOB_ROWS);
  const stream = await run('s', 1, 'addBulk');
  const streamAdd = await run('a', 1, 'add');
  const drain = await run('d', 1, 'addBulk', true);
  // the same two phases again on workers that have run everything above, without a fresh
  // process's one-off optimizing compiles
  const bulkWarm = await run('Wb', BULK_JOB_ROWS);
  const streamWarm = await run('Ws', 1, 'addBulk');
  const drainWarm = await run('Wd', 1, 'addBulk', true);
  const lat = await trickle();
  const load1 = os.loadavg()[0]!;
  const ratio = stream.rowsPerSec / bulk.rowsPerSec;
  const ratioAdd = streamAdd.rowsPerSec / bulk.rowsPerSec;
  const drainRatio = drain.rowsPerSec / bulk.rowsPerSec;
  // the stream phase cannot end before its producer has added every job: with a fleet that cost
  // nothing, the ratio would still be at most the bulk time over the producer's own time
  const ratioCeiling = bulk.seconds / drain.pausedAddS;
  const ratioWarm = streamWarm.rowsPerSec / bulkWarm.rowsPerSec;
  const drainRatioWarm = drainWarm.rowsPerSec / bulkWarm.rowsPerSec;
  console.log(
    `bulk   (${bulk.jobs} jobs of ${BULK_JOB_ROWS} rows): ${bulk.rowsPerSec.toFixed(0)} rows/s, ${bulk.seconds.toFixed(1)} s, ${bulk.versions} versions`,
  );
  console.log(
    `stream (${stream.jobs} jobs of 1 row, addBulk of ${BULK_ADD_CHUNK}, added in ${stream.addedS.toFixed(1)} s): ${stream.rowsPerSec.toFixed(0)} rows/s, ${stream.seconds.toFixed(1)} s, ${stream.versions} versions`,
  );
  console.log(
    `stream (${streamAdd.jobs} jobs of 1 row, add x${PRODUCER_IN_FLIGHT} in flight, added in ${streamAdd.addedS.toFixed(1)} s): ${streamAdd.rowsPerSec.toFixed(0)} rows/s, ${streamAdd.seconds.toFixed(1)} s, ${streamAdd.versions} versions (ratio ${ratioAdd.toFixed(3)})`,
  );
  console.log(
    `drain  (${drain.jobs} jobs of 1 row waiting in the paused queue, timed from resume): ${drain.rowsPerSec.toFixed(0)} rows/s, ${drain.seconds.toFixed(1)} s, ${drain.versions} versions (ratio ${drainRatio.toFixed(3)}, not the bar)`,
  );
  console.log(
    `producer alone: ${drain.jobs} jobs added to the paused queue in ${drain.pausedAddS.toFixed(1)} s, so a fleet that cost nothing would reach a ratio of ${ratioCeiling.toFixed(3)} on these cores`,
  );
  console.log(
    `warm fleet (the workers ran every phase above first): bulk ${bulkWarm.rowsPerSec.toFixed(0)} rows/s, stream ${streamWarm.rowsPerSec.toFixed(0)} rows/s (${streamWarm.versions} versions), ratio ${ratioWarm.toFixed(3)}; drain ${drainWarm.rowsPerSec.toFixed(0)} rows/s, ratio ${drainRatioWarm.toFixed(3)} (not the bar)`,
  );
  console.log(`ratio: ${ratio.toFixed(3)} (bar >= ${BAR_RATIO}) ${ratio >= BAR_RATIO ? 'PASS' : 'FAIL'}`);
  console.log(
    `idle fleet, single row add -> exported: p50 ${lat.p50.toFixed(0)} ms, p95 ${lat.p95.toFixed(0)} ms, max ${lat.max.toFixed(0)} ms (bar p50 <= ${BAR_P50_MS} ms) ${lat.p50 <= BAR_P50_MS ? 'PASS' : 'FAIL'}`,
  );
  for (const [name, phase] of Object.entries({ bulk, stream, drain, bulkWarm, streamWarm, drainWarm }))
    if (phase.cpu) console.log(`CPU-seconds, ${name}: ${JSON.stringify(phase.cpu)} (${os.cpus().length} cores)`);
  console.log(`load average (1 min) before/after: ${load0.toFixed(1)} / ${load1.toFixed(1)}`);
  console.log(
    `BENCH ${JSON.stringify({
      bench: 'ingest-stream',
      rows: ROWS,
      workers: 2,
      windowMs: Number(env.TESSERA_INGEST_WINDOW_MS),
      bulkRowsPerSec: Math.round(bulk.rowsPerSec),
      streamRowsPerSec: Math.round(stream.rowsPerSec),
      ratio: Number(ratio.toFixed(3)),
      bulkVersions: bulk.versions,
      streamVersions: stream.versions,
      streamAddedS: Number(stream.addedS.toFixed(1)),
      streamOneByOneRowsPerSec: Math.round(streamAdd.rowsPerSec),
      streamOneByOneAddedS: Number(streamAdd.addedS.toFixed(1)),
      ratioOneByOne: Number(ratioAdd.toFixed(3)),
      streamOneByOneVersions: streamAdd.versions,
      drainRowsPerSec: Math.round(drain.rowsPerSec),
      drainRatio: Number(drainRatio.toFixed(3)),
      drainVersions: drain.versions,
      producerAloneS: Number(drain.pausedAddS.toFixed(2)),
      ratioCeiling: Number(ratioCeiling.toFixed(3)),
      warmBulkRowsPerSec: Math.round(bulkWarm.rowsPerSec),
      warmStreamRowsPerSec: Math.round(streamWarm.rowsPerSec),
      ratioWarm: Number(ratioWarm.toFixed(3)),
      warmDrainRowsPerSec: Math.round(drainWarm.rowsPerSec),
      drainRatioWarm: Number(drainRatioWarm.toFixed(3)),
      streamJobs: stream.jobs,
      latencyP50Ms: Math.round(lat.p50),
      latencyP95Ms: Math.round(lat.p95),
      loadAvg: [Number(load0.toFixed(1)), Number(load1.toFixed(1))],
      node: process.version,
      cores: os.cpus().length,
      cpuSeconds: bulk.cpu && {
        bulk: bulk.cpu,
        stream: stream.cpu,
        drain: drain.cpu,
        bulkWarm: bulkWarm.cpu,
        streamWarm: streamWarm.cpu,
        drainWarm: drainWarm.cpu,
      },
      bar: { ratio: BAR_RATIO, p50Ms: BAR_P50_MS },
      pass: ratio >= BAR_RATIO && lat.p50 <= BAR_P50_MS,
    })}`,
  );
} finally {
  await Promise.all(workers.map((w) => w.stop()));
  await producer.close();
  redis.disconnect();
  await engine.close();
  await cleanup(loadConfig(env));
  await db.query(`DROP SCHEMA IF EXISTS ${exportSchema} CASCADE`);
  await db.end();
}
