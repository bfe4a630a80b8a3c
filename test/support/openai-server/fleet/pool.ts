import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { FleetWorkerConfig, FleetWorkerResult } from './worker';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../../..');
const tsx = join(root, 'node_modules/.bin/tsx');

/**
 * Run fleet workers as separate OS processes (tsx), start them together once all are loaded,
 * and collect their results.
 */
export async function runFleet(configs: FleetWorkerConfig[], env: Record<string, string> = {}, onStart?: () => void): Promise<FleetWorkerResult[]> {
  const procs: Array<{ child: ChildProcess; out: string; err: string; ready: Promise<void>; exit: Promise<number> }> = configs.map((cfg) => {
    const child = spawn(tsx, [join(here, 'worker.ts')], {
      cwd: root,
      env: { ...process.env, ...env, FLEET_CONFIG: JSON.stringify(cfg) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const p = { child, out: '', err: '', ready: undefined as unknown as Promise<void>, exit: undefined as unknown as Promise<number> };
    p.ready = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        p.out += d.toString();
        if (p.out.includes('READY\n')) resolve();
      });
      child.once('exit', () => reject(new Error(`worker ${cfg.workerId} exited before READY: ${p.err}`)));
    });
    child.stderr!.on('data', (d: Buffer) => {
      p.err += d.toString();
    });
    p.exit = new Promise((r) => child.once('exit', (code) => r(code ?? 1)));
    return p;
  });
  try {
    await Promise.all(procs.map((p) => p.ready));
    onStart?.();
    for (const p of procs) p.child.stdin!.write('GO\n');
    const codes = await Promise.all(procs.map((p) => p.exit));
    return procs.map((p, i) => {
      if (codes[i] !== 0) throw new Error(`fleet worker ${i} failed (${codes[i]}): ${p.err.slice(-2000)}`);
      const line = p.out.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`fleet worker ${i} printed no result: ${p.err.slice(-2000)}`);
      return JSON.parse(line) as FleetWorkerResult;
    });
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  }
}
