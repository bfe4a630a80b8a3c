import type { Engine } from './engine';

export interface FailedJobGroup {
  table: string;
  /** the computed columns (or view iteration column) the failed jobs were computing */
  column: string;
  jobs: number;
  /** the latest failure's reason */
  reason: string;
  lastFailedAt: number;
}

/**
 * Jobs that failed for good (attempts exhausted, refused, a bug) and whose cells are still
 * pending, per table and column with the latest reason: what `tessera status` and `tessera
 * errors` show. A failed job whose rows were computed since (the periodic reconcile resumed them)
 * is no longer shown. BullMQ keeps the last 5000 failed jobs per queue.
 */
export async function failedJobs(engine: Engine, pipeline: string): Promise<FailedJobGroup[]> {
  const tables = new Map((await engine.store.tables(pipeline)).map((t) => [t.name, t]));
  type Failed = { table: string; columns: string[]; lo: number; hi: number; reason: string; at: number };
  const found: Failed[] = [];
  for (const q of new Set(['cpu', 'media', ...(await engine.queuesOf(pipeline))])) {
    for (const job of await engine.queue(q).getFailed(0, 4999)) {
      const d = job?.data;
      if (!d || d.pipeline !== pipeline || !tables.has(d.table)) continue;
      const columns: string[] | undefined = d.kind === 'stage' ? d.columns : d.kind === 'iterate' ? [d.column] : undefined;
      if (!columns?.length || typeof d.lo !== 'number' || typeof d.hi !== 'number') continue;
      found.push({ table: d.table, columns, lo: d.lo, hi: d.hi, reason: job.failedReason ?? 'unknown', at: job.finishedOn ?? job.timestamp });
    }
  }
  const groups = new Map<string, FailedJobGroup>();
  const byWork = new Map<string, Failed[]>();
  for (const f of found) byWork.set(`${f.table}\0${f.columns.join(',')}`, [...(byWork.get(`${f.table}\0${f.columns.join(',')}`) ?? []), f]);
  for (const list of byWork.values()) {
    const table = tables.get(list[0]!.table)!;
    const columns = list[0]!.columns.filter((c) => table.columns.some((col) => col.name === c && col.computed));
    if (!columns.length) continue; // the column was dropped since
    const open = await engine.store.pending.inRanges(table, columns, list);
    list.forEach((f, i) => {
      if (!open[i]) return;
      const key = `${f.table}\0${columns.join(',')}`;
      const g = groups.get(key) ?? { table: f.table, column: columns.join(','), jobs: 0, reason: f.reason, lastFailedAt: 0 };
      g.jobs++;
      if (f.at >= g.lastFailedAt) {
        g.lastFailedAt = f.at;
        g.reason = f.reason;
      }
      groups.set(key, g);
    });
  }
  return [...groups.values()].sort((a, b) => a.table.localeCompare(b.table) || a.column.localeCompare(b.column));
}
