import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface WorkerProcess {
  child: ChildProcess;
  port: number;
  output: () => string;
  /** SIGTERM and wait for exit; resolves with the exit code */
  stop(): Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Workers still running: killed when the test process exits, however it ends (a timeout, --forceExit), so none outlives its test. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * How long a worker may take to start: 60 s on an idle machine, more in proportion to the load
 * (tsx compiles the pipeline code at start; on 2 busy cores that alone can take minutes), at most 10 min.
 */
export function workerStartTimeoutMs(): number {
  const load = os.loadavg()[0]! / Math.max(1, os.cpus().length);
  return Math.round(Math.min(600_000, 60_000 * Math.max(1, load)));
}

/**
 * Start a real worker process (apps/worker) with the given environment and wait until it consumes
 * (it says "worker started"). One that does not within `startTimeoutMs` is killed, never left behind.
 */
export async function spawnWorker(env: Record<string, string>, args: string[] = [], startTimeoutMs = workerStartTimeoutMs()): Promise<WorkerProcess> {
  // for finding where a bench's workers spend their time: a V8 CPU profile per worker in this directory
  const profile = process.env.TESSERA_TEST_WORKER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TESSERA_TEST_WORKER_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(ROOT, 'apps/worker/src/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: '', TESSERA_WORKER_PORT: '0', TESSERA_LOG_LEVEL: process.env.TESSERA_TEST_WORKER_LOG_LEVEL ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  live.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker did not start in ${Math.round(startTimeoutMs / 1000)} s (load ${os.loadavg()[0]!.toFixed(1)}):\n${out}`));
    }, startTimeoutMs);
    const onData = () => {
      const m = /"port":(\d+).*"msg":"worker started"/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      // after a timeout this is a no-op: the promise is settled
      reject(new Error(`worker exited (${code}) before starting:\n${out}`));
    });
  });
  return {
    child,
    port,
    output: () => out,
    stop() {
      child.kill('SIGTERM');
      return exited;
    },
    kill(signal) {
      child.kill(signal);
      return exited;
    },
  };
}

/** `n` worker processes with the same environment, started together. */
export const spawnWorkers = (n: number, env: Record<string, string>, args: string[] = []): Promise<WorkerProcess[]> =>
  Promise.all(Array.from({ length: n }, () => spawnWorker(env, args)));

/** SIGTERM every worker still running and wait for all to exit; resolves with their exit codes (null: killed by a signal). */
export const stopWorkers = (workers: WorkerProcess[]): Promise<Array<number | null>> => Promise.all(workers.map((w) => w.stop()));
