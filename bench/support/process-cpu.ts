import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ: the unit of /proc's CPU times on Linux */
const TICK = 100;

/** CPU seconds (user + system) a process has used, and those of its children it waited for; zeros once it is gone. */
export function processCpu(pid: number | 'self'): { self: number; children: number } {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { self: (Number(f[11]) + Number(f[12])) / TICK, children: (Number(f[13]) + Number(f[14])) / TICK };
  } catch {
    return { self: 0, children: 0 };
  }
}

/** The processes whose command name is `name` (redis-server, postgres: the services a bench shares the cores with). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // a process that exits between listing and reading is fine to miss
    }
  }
  return pids;
}

export type CpuGroups = Record<string, () => number[]>;

/**
 * CPU seconds per group of processes between this call and the returned stop, from /proc (Linux
 * only: elsewhere it returns undefined). Postgres backends come and go, so a group's pids are
 * listed at both ends: one that started in between counts from its start, one that ended in
 * between is missed.
 * Shared services count whatever else used them meanwhile.
 */
export function startCpuMeter(groups: CpuGroups): (() => Record<string, number>) | undefined {
  if (process.platform !== 'linux') return undefined;
  const read = () => {
    const by: Record<string, Map<number, number>> = {};
    for (const [group, pids] of Object.entries(groups)) by[group] = new Map(pids().map((p) => [p, processCpu(p).self]));
    return by;
  };
  const before = read();
  return () => {
    const after = read();
    const used: Record<string, number> = {};
    for (const [group, pids] of Object.entries(after)) {
      let sum = 0;
      for (const [pid, cpu] of pids) sum += cpu - (before[group]!.get(pid) ?? 0);
      used[group] = Number(sum.toFixed(2));
    }
    return used;
  };
}
