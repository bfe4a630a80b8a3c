/**
 * Worker start time: a real worker process (apps/worker under tsx, as the Docker image runs it) from
 * spawn to its "worker started" log line, with the main job's pipeline loaded; and, beside it, how
 * long importing @tessera/connectors alone takes in a fresh process. Median of BENCH_ROUNDS runs.
 *
 *   npx tsx bench/worker-start.bench.ts        (BENCH_ROUNDS=5)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DB = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const id = randomBytes(4).toString('hex');
const env = {
  ...process.env,
  NODE_OPTIONS: '',
  TESSERA_DATABASE_URL: DB,
  TESSERA_SCHEMA: `bench_start_${id}`,
  TESSERA_QUEUE_PREFIX: `bench-start-${id}`,
  TESSERA_PIPELINES: path.join(ROOT, 'pipelines'),
  TESSERA_WORKER_PORT: '0',
  TESSERA_LOG_LEVEL: 'info',
};

/** ms from spawn until the child prints `marker`, then the child is stopped. */
function timeUntil(args: string[], marker: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      if (marker.test(out)) {
        const ms = performance.now() - t0;
        child.kill('SIGTERM');
        child.once('exit', () => resolve(ms));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      if (!marker.test(out)) reject(new Error(`exited (${code}) before ${marker}:\n${out}`));
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const worker: number[] = [];
const connectors: number[] = [];
const bare: number[] = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    bare.push(await timeUntil(['--import', 'tsx', '-e', 'console.log("ready")'], /ready/));
    connectors.push(await timeUntil(['--import', 'tsx', '-e', 'await import("@tessera/connectors"); console.log("ready")'], /ready/));
    worker.push(await timeUntil(['--import', 'tsx', path.join(ROOT, 'apps/worker/src/main.ts')], /"msg":"worker started"/));
  }
} finally {
  const c = new pg.Client({ connectionString: DB });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${env.TESSERA_SCHEMA}" CASCADE`);
  await c.end();
}
const figures = {
  rounds: ROUNDS,
  worker_start_ms: Math.round(median(worker)),
  connectors_import_ms: Math.round(median(connectors)),
  bare_tsx_ms: Math.round(median(bare)),
};
console.log(`worker start (spawn to "worker started"): ${figures.worker_start_ms} ms median of ${ROUNDS}`);
console.log(`import @tessera/connectors in a fresh process: ${figures.connectors_import_ms} ms (bare tsx: ${figures.bare_tsx_ms} ms)`);
console.log(`BENCH ${JSON.stringify(figures)}`);
