/**
 * bench:scale — does the fleet scale out? The same I/O-bound pipeline (a chat completion per row on
 * the local OpenAI-compatible test server, BENCH_LATENCY_MS = 150 ms per call, no rate limit
 * binding) run with 1, 2 and 4 worker processes (apps/worker), each with the same capacity (one
 * model job of 16 calls in flight at a time). Timed from the insert until every cell is computed.
 * Prints rows/s per fleet size and the speedups over one worker (bar: 2 workers >= 1.8x, 4 >= 3.6x),
 * then one `BENCH {...}` line.
 *
 *   npm run bench:scale     (BENCH_ROWS=2000 BENCH_LATENCY_MS=150)
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Engine, loadConfig } from '@tessera/runtime';
import { startOpenAIServer } from '../test/support/openai-server';
import { rowText } from '../test/support/openai-server/fleet/texts';
import { spawnWorker, type WorkerProcess } from '../test/support/worker-process';
import { cleanup } from '../test/support/cleanup';
import def, { CHAT_MODEL } from './pipelines/models-bench/index';

const ROWS = Number(process.env.BENCH_ROWS ?? 2000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 150);
const FLEETS = [1, 2, 4];
const BATCH = 20;
const KEY = 'sk-bench-local-key';
const BAR = { 2: 1.8, 4: 3.6 } as Record<number, number>;

async function run(workersN: number): Promise<number> {
  const server = await startOpenAIServer({ latencyMs: LATENCY_MS, apiKey: KEY });
  const id = randomBytes(3).toString('hex');
  const env = {
    TESSERA_DATABASE_URL: process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    TESSERA_REDIS_URL: process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379',
    TESSERA_SCHEMA: `bench_scale_${id}`,
    TESSERA_QUEUE_PREFIX: `bench-scale-${id}`,
    TESSERA_PIPELINES: path.resolve(import.meta.dirname, 'pipelines/models-bench'),
    TESSERA_BATCH_SIZE: String(BATCH),
    // each worker: one chat job at a time, 16 calls in flight (the stage's lanes)
    TESSERA_CONCURRENCY: `model-openai-${CHAT_MODEL}=1`,
    TESSERA_RESPONSE_CACHE: 'off',
    TESSERA_LOG_LEVEL: 'warn',
    BENCH_OPENAI_URL: server.url,
    BENCH_OPENAI_KEY: KEY,
  };
  process.env.BENCH_OPENAI_URL = server.url;
  const config = loadConfig(env);
  const engine = await Engine.connect(config);
  let workers: WorkerProcess[] = [];
  try {
    await engine.apply(def);
    workers = await Promise.all(Array.from({ length: workersN }, () => spawnWorker(env)));
    const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i, text: rowText(i) }));
    const t0 = performance.now();
    await engine.insert('models-bench', 'rows', rows);
    await engine.waitIdle('models-bench', { timeoutMs: 900_000, pollMs: 100 });
    const seconds = (performance.now() - t0) / 1000;
    const status = await engine.store.status('models-bench', 'rows');
    const done = status.columns.find((c) => c.column === 'summary')!;
    if (done.done !== ROWS) throw new Error(`expected ${ROWS} summaries, got ${JSON.stringify(done)}`);
    return ROWS / seconds;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await engine.close();
    await cleanup(config);
    await server.close();
  }
}

const load0 = loadavg()[0]!;
const rates: Record<number, number> = {};
for (const n of FLEETS) {
  rates[n] = await run(n);
  console.log(`${n} worker(s): ${rates[n]!.toFixed(1)} rows/s`);
}
const speedup = Object.fromEntries(FLEETS.map((n) => [n, Number((rates[n]! / rates[1]!).toFixed(2))]));
const pass = FLEETS.every((n) => !BAR[n] || speedup[n]! >= BAR[n]!);
console.log(`speedup: 2 workers ${speedup[2]}x (bar >= 1.8), 4 workers ${speedup[4]}x (bar >= 3.6) ${pass ? 'PASS' : 'FAIL'}`);
console.log(`load average (1 min) before/after: ${load0.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}`);
console.log(
  `BENCH ${JSON.stringify({
    bench: 'scale',
    rows: ROWS,
    latencyMs: LATENCY_MS,
    rowsPerSec: Object.fromEntries(FLEETS.map((n) => [n, Number(rates[n]!.toFixed(1))])),
    speedup,
    loadAvg: [Number(load0.toFixed(1)), Number(loadavg()[0]!.toFixed(1))],
    bar: BAR,
    pass,
  })}`,
);
