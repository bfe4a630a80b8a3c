import { spawn, type ChildProcess } from 'node:child_process';
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

/** Start a real worker process (apps/worker) with the given environment and wait until it consumes. */
export async function spawnWorker(env: Record<string, string>, args: string[] = [], opts: { startTimeoutMs?: number } = {}): Promise<WorkerProcess> {
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/worker/src/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: '', TESSERA_WORKER_PORT: '0', TESSERA_LOG_LEVEL: 'info' },
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
      child.kill('SIGKILL'); // a worker that did not start must not join the fleet later
      reject(new Error(`worker did not start in ${startTimeoutMs / 1000} s:\n${out}`));
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
