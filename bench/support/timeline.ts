/**
 * A timeline of a bench phase (Linux): every 10 ms, each process group's CPU and the length of the
 * queues' wait and active lists, written as JSON lines by a separate process (so the sampling takes
 * nothing from the bench's own event loop; it still uses a few percent of a core, so compare phases
 * sampled alike). It shows what a total cannot: whether the fleet keeps up with a producer (the wait
 * list stays short) or falls behind, and which process is busy when.
 *
 *   startTimeline(file, prefix, queues, groups) ... stop()     from a bench
 *   tsx bench/support/timeline.ts show <file> [binMs]          the file as a table, binMs per line
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pidsNamed, processCpu } from './process-cpu';

/** One sample: ms since the start, the machine's busy ticks, CPU-seconds per group, list lengths per queue. */
interface Sample {
  t: number;
  busy: number;
  cpu: Record<string, number>;
  lists: Record<string, [wait: number, active: number]>;
}

/** Groups are given as pids, or as a process name (`redis-server`, `postgres`) listed again as backends come and go. */
type Groups = Record<string, number[] | string>;

/** Ticks all cores spent busy: user, nice, system, irq, softirq (not steal, the host's time for others). */
function busyTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]!;
}

async function sample(file: string, prefix: string, queues: string[], groups: Groups): Promise<void> {
  const redis = new Redis(process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const listPids = () => Object.fromEntries(Object.entries(groups).map(([name, g]) => [name, typeof g === 'string' ? pidsNamed(g) : g]));
  let pids: Record<string, number[]> = {};
  const samples: Sample[] = [];
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  const t0 = Date.now();
  for (let n = 0; !stop; n++) {
    if (n % 50 === 0) pids = listPids();
    const lengths = redis.pipeline();
    for (const q of queues) lengths.llen(`${prefix}:${q}:wait`).llen(`${prefix}:${q}:active`);
    const replies = ((await lengths.exec()) ?? []).map(([, length]) => Number(length));
    const cpu: Record<string, number> = {};
    for (const [name, list] of Object.entries(pids)) cpu[name] = list.reduce((s, pid) => s + processCpu(pid).self, 0);
    const lists = Object.fromEntries(queues.map((q, k) => [q, [replies[2 * k]!, replies[2 * k + 1]!] as [number, number]]));
    samples.push({ t: Date.now() - t0, busy: busyTicks(), cpu, lists });
    if (n === 0) process.stdout.write('sampling\n');
    await new Promise((r) => setTimeout(r, 10));
  }
  writeFileSync(file, samples.map((s) => JSON.stringify(s)).join('\n'));
  redis.disconnect();
}

/**
 * Start sampling into `file` (a child process); resolves once the first sample is taken, with a
 * function that stops it once the file is written.
 */
export async function startTimeline(file: string, prefix: string, queues: string[], groups: Groups): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'sample', file, prefix, queues.join(','), JSON.stringify(groups)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the timeline sampler exited (${code}) before its first sample`)));
  });
  return async () => {
    child.kill('SIGTERM');
    await exited;
  };
}

/** The timeline in bins of `binMs`: cores busy, each group's share of a core, and the queues' lists at the bin's end. */
export function showTimeline(file: string, binMs = 100): string {
  const samples = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Sample);
  if (samples.length < 2) return `${file}: fewer than 2 samples`;
  const groups = Object.keys(samples[0]!.cpu);
  const queues = Object.keys(samples[0]!.lists);
  const lines = [['ms', 'cores', ...groups, ...queues.map((q) => `${q} wait/active`)].join('\t')];
  for (let i = 0; i < samples.length - 1; ) {
    let j = i + 1;
    while (j < samples.length - 1 && samples[j]!.t - samples[i]!.t < binMs) j++;
    const a = samples[i]!;
    const b = samples[j]!;
    const seconds = (b.t - a.t) / 1000;
    // /proc/stat counts every core's ticks (100 a second each): busy ticks over a second's worth are cores
    const cores = (b.busy - a.busy) / (seconds * 100);
    lines.push(
      [
        a.t,
        cores.toFixed(2),
        ...groups.map((g) => ((b.cpu[g]! - a.cpu[g]!) / seconds).toFixed(2)),
        ...queues.map((q) => `${b.lists[q]![0]}/${b.lists[q]![1]}`),
      ].join('\t'),
    );
    i = j;
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'sample') await sample(args[0]!, args[1]!, args[2]!.split(','), JSON.parse(args[3]!) as Groups);
  else if (command === 'show') console.log(showTimeline(args[0]!, args[1] ? Number(args[1]) : undefined));
  else {
    console.error('usage: tsx bench/support/timeline.ts show <file> [binMs]');
    process.exitCode = 2;
  }
}
