/**
 * bench:scale — does the fleet scale out? The same I/O-bound pipeline (a chat completion per row on
 * the local OpenAI-compatible test server, BENCH_LATENCY_MS = 150 ms per call, no rate limit
 * binding) run with 1, 2 and 4 worker processes (apps/worker). Each worker has the same, bounded
 * capacity: one model job at a time (TESSERA_CONCURRENCY) of BENCH_BATCH = 8 rows, whose 8 calls
 * go out together, so one worker is latency-bound (about 8 rows per 150 ms round trip) and uses a
 * small share of a core; the bench measures whether adding workers adds that capacity (queue
 * fetching, the shared Redis and Postgres, and job granularity are what could stop it), not how
 * many cores the machine has. Workers are started one after another (a start under load can be
 * slow, and is retried) and warmed with a few jobs each; the measured window starts once every
 * worker is ready, at the insert of BENCH_ROWS rows, and ends when every cell is computed.
 * Prints rows/s per fleet size (median of BENCH_REPEAT rounds) and the speedups over one worker
 * (bar: 2 workers >= 1.8x, 4 >= 3.6x), then one `BENCH {...}` line.
 *
 *   npm run bench:scale     (BENCH_ROWS=3200 BENCH_LATENCY_MS=150 BENCH_BATCH=8 BENCH_REPEAT=1)
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Engine, loadConfig } from '@tessera/runtime';
import { spawn } from 'node:child_process';
import { rowText } from '../test/support/openai-server/fleet/texts';
import { spawnWorker, type WorkerProcess } from '../test/support/worker-process';
import { cleanup } from '../test/support/cleanup';
import def, { CHAT_MODEL } from './pipelines/models-bench/index';

// 3,200 rows: at 800, 4 workers finish in about 5 s and the run's fixed part (the insert, the last
// export, idle detection) is a measurable share of it (3.56x at 800 rows vs 3.69-3.80x at 3,200, same code)
const ROWS = Number(process.env.BENCH_ROWS ?? 3200);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 150);
const BATCH = Number(process.env.BENCH_BATCH ?? 8);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
const FLEETS = (process.env.BENCH_FLEETS ?? '1,2,4').split(',').map(Number);
const KEY = 'sk-bench-local-key';
const BAR = { 2: 1.8, 4: 3.6 } as Record<number, number>;

/** The test server in its own process (see support/openai-server-process), so it never waits on this one. */
async function startServer(opts: { latencyMs: number; apiKey: string }): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, 'support/openai-server-process.ts'), JSON.stringify(opts)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.once('exit', () => child.kill('SIGKILL'));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /URL (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`test server exited before listening: ${out}`)));
  });
  return {
    url,
    close: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

/** Start a worker; a start that times out on a loaded machine is tried again. */
async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnWorker(env);
    } catch (e) {
      if (attempt >= 3) throw e;
      console.log(`  worker start failed (attempt ${attempt}), trying again: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}

async function run(workersN: number): Promise<number> {
  const server = await startServer({ latencyMs: LATENCY_MS, apiKey: KEY });
  const id = randomBytes(3).toString('hex');
  const env = {
    TESSERA_DATABASE_URL: process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    TESSERA_REDIS_URL: process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379',
    TESSERA_SCHEMA: `bench_scale_${id}`,
    TESSERA_QUEUE_PREFIX: `bench-scale-${id}`,
    TESSERA_PIPELINES: path.resolve(import.meta.dirname, 'pipelines/models-bench'),
    TESSERA_BATCH_SIZE: String(BATCH),
    // each worker: one chat job at a time, its BATCH calls in flight together
    TESSERA_CONCURRENCY: `model-openai-${CHAT_MODEL}=1`,
    TESSERA_RESPONSE_CACHE: 'off',
    TESSERA_LOG_LEVEL: 'warn',
    BENCH_OPENAI_URL: server.url,
    BENCH_OPENAI_KEY: KEY,
  };
  process.env.BENCH_OPENAI_URL = server.url;
  const config = loadConfig(env);
  const engine = await Engine.connect(config);
  const workers: WorkerProcess[] = [];
  try {
    await engine.apply(def);
    for (let i = 0; i < workersN; i++) {
      const ts = performance.now();
      workers.push(await startWorker(env));
      if (process.env.BENCH_TRACE === '1') console.log(`  worker ${i + 1} started in ${((performance.now() - ts) / 1000).toFixed(1)} s`);
    }
    // warm every worker (module loading, the tokenizer, connections) outside the measured window
    const warm = 2 * workersN * BATCH;
    await engine.insert(
      'models-bench',
      'rows',
      Array.from({ length: warm }, (_, i) => ({ id: -1 - i, text: rowText(i) })),
    );
    await engine.waitIdle('models-bench', { timeoutMs: 300_000, pollMs: 100 });
    const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i, text: rowText(i) }));
    const t0 = performance.now();
    await engine.insert('models-bench', 'rows', rows);
    await engine.waitIdle('models-bench', { timeoutMs: 900_000, pollMs: 100 });
    const seconds = (performance.now() - t0) / 1000;
    if (process.env.BENCH_TRACE === '1') {
      for (const w of workers) {
        const text = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
        const pick = (re: RegExp) =>
          text
            .split('\n')
            .filter((l) => re.test(l) && !l.startsWith('#'))
            .map((l) => l.replace(/^tessera_/, ''))
            .join(' | ');
        console.log(
          `  worker ${w.port}: ${pick(/^tessera_job_duration_seconds_(sum|count)/)} || ${pick(/^tessera_model_request_duration_seconds_(sum|count)/)} || ${pick(/^tessera_limiter_wait_seconds_(sum|count)/)}`,
        );
      }
    }
    const status = await engine.store.status('models-bench', 'rows');
    const done = status.columns.find((c) => c.column === 'summary')!;
    if (done.done !== ROWS + warm) throw new Error(`expected ${ROWS + warm} summaries, got ${JSON.stringify(done)}`);
    return ROWS / seconds;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await engine.close();
    await cleanup(config);
    await server.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const load0 = loadavg()[0]!;
const samples: Record<number, number[]> = { 1: [], 2: [], 4: [] };
for (let r = 0; r < REPEAT; r++) {
  for (const n of FLEETS) {
    const rate = await run(n);
    samples[n]!.push(rate);
    console.log(`${n} worker(s): ${rate.toFixed(1)} rows/s (load ${loadavg()[0]!.toFixed(1)})`);
  }
}
const rates = Object.fromEntries(FLEETS.map((n) => [n, median(samples[n]!)]));
const speedup = Object.fromEntries(FLEETS.map((n) => [n, Number((rates[n]! / rates[1]!).toFixed(2))]));
const pass = FLEETS.every((n) => !BAR[n] || speedup[n]! >= BAR[n]!);
const ideal = (BATCH / (LATENCY_MS / 1000)).toFixed(0);
console.log(`one worker's latency-bound ceiling: ${BATCH} calls per ${LATENCY_MS} ms = ${ideal} rows/s`);
console.log(`speedup: 2 workers ${speedup[2]}x (bar >= 1.8), 4 workers ${speedup[4]}x (bar >= 3.6) ${pass ? 'PASS' : 'FAIL'}`);
console.log(`load average (1 min) before/after: ${load0.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}`);
console.log(
  `BENCH ${JSON.stringify({
    bench: 'scale',
    rows: ROWS,
    latencyMs: LATENCY_MS,
    batch: BATCH,
    repeat: REPEAT,
    rowsPerSec: Object.fromEntries(FLEETS.map((n) => [n, Number(rates[n]!.toFixed(1))])),
    samples: Object.fromEntries(FLEETS.map((n) => [n, samples[n]!.map((x) => Number(x.toFixed(1)))])),
    speedup,
    loadAvg: [Number(load0.toFixed(1)), Number(loadavg()[0]!.toFixed(1))],
    bar: BAR,
    pass,
  })}`,
);
