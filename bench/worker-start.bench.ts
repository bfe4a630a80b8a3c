/**
 * Worker start time: a real worker process from spawn to its "worker started" log line, with the
 * main job's pipeline (TypeScript) loaded, two ways side by side:
 *   before: the sources under tsx (`node --import tsx apps/worker/src/main.ts`, how the image ran it);
 *   after:  the compiled production file set (`node apps/worker/dist/main.js`, how the image runs it
 *           now), assembled by scripts/production/assemble.mjs (or BENCH_PROD_DIR, one made earlier).
 * Also `tessera --help` both ways, and importing @tessera/connectors alone under tsx.
 * Median of BENCH_ROUNDS runs, the two ways alternating.
 *
 *   npx tsx bench/worker-start.bench.ts        (BENCH_ROUNDS=5, BENCH_PROD_DIR=/tmp/prod-set)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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

const PROD = path.resolve(process.env.BENCH_PROD_DIR ?? path.join(ROOT, '.tessera/bench-production'));
if (!process.env.BENCH_PROD_DIR || !existsSync(path.join(PROD, 'node_modules'))) {
  console.log(`assembling the production file set in ${PROD} ...`);
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/production/assemble.mjs'), PROD], { stdio: 'inherit' });
}

/** ms from spawn until the child prints `marker` (or exits 0 when marker is null), then the child is stopped. */
function timeUntil(args: string[], marker: RegExp | null, cwd = ROOT, extraEnv: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    if (!marker) {
      child.once('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(' ')} exited ${code}`))));
      return;
    }
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
const compiledWorker: number[] = [];
const help: number[] = [];
const compiledHelp: number[] = [];
const connectors: number[] = [];
const bare: number[] = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    bare.push(await timeUntil(['--import', 'tsx', '-e', 'console.log("ready")'], /ready/));
    connectors.push(await timeUntil(['--import', 'tsx', '-e', 'await import("@tessera/connectors"); console.log("ready")'], /ready/));
    worker.push(await timeUntil(['--import', 'tsx', path.join(ROOT, 'apps/worker/src/main.ts')], /"msg":"worker started"/));
    compiledWorker.push(await timeUntil(['apps/worker/dist/main.js'], /"msg":"worker started"/, PROD, { TESSERA_PIPELINES: path.join(PROD, 'pipelines') }));
    help.push(await timeUntil(['--import', 'tsx', path.join(ROOT, 'apps/cli/src/main.ts'), '--help'], null));
    compiledHelp.push(await timeUntil(['apps/cli/dist/main.js', '--help'], null, PROD));
  }
} finally {
  const c = new pg.Client({ connectionString: DB });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${env.TESSERA_SCHEMA}" CASCADE`);
  await c.end();
}
const figures = {
  rounds: ROUNDS,
  worker_start_tsx_ms: Math.round(median(worker)),
  worker_start_compiled_ms: Math.round(median(compiledWorker)),
  cli_help_tsx_ms: Math.round(median(help)),
  cli_help_compiled_ms: Math.round(median(compiledHelp)),
  connectors_import_ms: Math.round(median(connectors)),
  bare_tsx_ms: Math.round(median(bare)),
};
console.log(
  `worker start (spawn to "worker started"), median of ${ROUNDS}: ${figures.worker_start_tsx_ms} ms under tsx (before), ${figures.worker_start_compiled_ms} ms compiled (after)`,
);
console.log(`tessera --help: ${figures.cli_help_tsx_ms} ms under tsx, ${figures.cli_help_compiled_ms} ms compiled`);
console.log(`import @tessera/connectors in a fresh process: ${figures.connectors_import_ms} ms (bare tsx: ${figures.bare_tsx_ms} ms)`);
console.log(`BENCH ${JSON.stringify(figures)}`);
