import { spawn, type ChildProcess } from 'node:child_process';

export const ROOT = new URL('../..', import.meta.url).pathname;

/** Run a command to its end; rejects with its output when it exits non-zero. */
export function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, NODE_OPTIONS: '', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

export interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
  /** SIGTERM; resolves with the exit code */
  stop(): Promise<number | null>;
}

/** Start a compiled worker (`node apps/worker/dist/main.js`) and wait for its "worker started" line. */
export function startCompiledWorker(node: string, cwd: string, env: Record<string, string>): Promise<Started> {
  const child = spawn(node, ['apps/worker/dist/main.js'], {
    cwd,
    env: { ...process.env, NODE_OPTIONS: '', ...env, TESSERA_WORKER_PORT: '0', TESSERA_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in 90 s:\n${out}`)), 90_000);
    void exited.then((code) => reject(new Error(`worker exited (${code}) before starting:\n${out}`)));
    const onData = () => {
      const m = /"port":(\d+).*"msg":"worker started"/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve({
        child,
        port: Number(m[1]),
        output: () => out,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
  });
}
