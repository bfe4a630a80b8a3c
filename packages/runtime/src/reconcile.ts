import { buildVersionFlow } from './dag/build-flow';
import { queueName } from './jobs/queues';
import { selectIterations, type Engine } from './engine';
import type { RowSelector } from '@tessera/store';

export interface ReconcileReport {
  pipeline: string;
  table: string;
  /** batches of rows with a pending cell */
  pendingBatches: number;
  /** of those, batches a live job already covers */
  covered: number;
  /** batches enqueued again */
  enqueued: number;
}

const LIVE_STATES = ['active', 'waiting', 'delayed', 'waiting-children', 'prioritized'] as const;

/**
 * Find every cell that should have a value and has neither value nor error, and no live job
 * covering it, and enqueue it again. Redis holds only work in flight, so after Redis loses its
 * data (a flush, a failover) this restores the run; running it when nothing is lost enqueues nothing.
 */
export async function reconcile(engine: Engine, pipeline: string, opts: { exports?: boolean } = {}): Promise<ReconcileReport[]> {
  const reports: ReconcileReport[] = [];
  for (const table of await engine.store.tables(pipeline)) {
    // a finished version whose export job Redis lost leaves no pending cell: re-ship in full when asked
    // (the finalize job of a table without exports ships nothing)
    if (opts.exports) await engine.exportFull(pipeline, table.name);
    else {
      // an export left stuck (a schema mismatch, a permission) tries again, in full: fixed targets converge by themselves
      const stuck = (await engine.store.exportStates(pipeline)).filter((e) => e.table === table.name && e.state === 'stuck').map((e) => e.sink);
      if (stuck.length) await engine.exportFull(pipeline, table.name, { sinks: stuck });
    }
    const iterations = selectIterations(table);
    if (!table.stages.length && !iterations.length) continue;
    const columns = [...table.stages.flatMap((s) => s.columns), ...iterations.map((i) => i.column)];
    const aborted = await engine.store.abortedVersions(table.id);
    const pending = await engine.store.pendingRanges(table, columns, engine.config.batchSize, undefined, aborted);
    const live: RowSelector[] = [];
    for (const q of new Set([...table.stages.map((s) => s.queue), ...iterations.map((i) => i.queue)].map(queueName))) {
      for (const job of await engine.queue(q).getJobs([...LIVE_STATES])) {
        const d = job?.data;
        if ((d?.kind === 'stage' || d?.kind === 'iterate') && d.pipeline === pipeline && d.table === table.name) live.push({ lo: d.lo, hi: d.hi });
      }
    }
    const todo = pending.filter((p) => !live.some((l) => l.lo <= p.lo && p.hi <= l.hi));
    if (todo.length) {
      await engine.flows.add(
        buildVersionFlow(
          { pipeline, table: table.name, version: table.version, stages: table.stages, iterations, batches: todo, tag: `reconcile-${Date.now()}`, full: true },
          { attempts: engine.config.jobAttempts },
        ),
      );
    }
    reports.push({ pipeline, table: table.name, pendingBatches: pending.length, covered: pending.length - todo.length, enqueued: todo.length });
  }
  return reports;
}
