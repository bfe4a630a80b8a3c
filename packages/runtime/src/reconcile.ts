import { buildVersionFlow } from './dag/build-flow';
import { CONTROL_QUEUE, queueName } from './jobs/queues';
import { selectIterations, type Engine } from './engine';
import type { CatalogTable, ExportState, RowSelector } from '@tessera/store';
import type { FinalizeJob } from './jobs/payloads';

export interface ReconcileReport {
  pipeline: string;
  table: string;
  /** batches of rows with a pending cell that no live job covers */
  pendingBatches: number;
  /** of those, batches a live job already covers (always 0: covered rows are left out row by row) */
  covered: number;
  /** batches enqueued again */
  enqueued: number;
  /** versions whose finalize was lost (Redis lost it, or it gave up on a target that stayed down), shipped again */
  reshipped?: number[];
  /**
   * why nothing was enqueued for the table: the periodic reconcile's cheap checks, or Redis lost its
   * data a moment ago and jobs that were running then may still be computing their rows (see `settlingMs`)
   */
  skipped?: 'clean' | 'recent change' | 'redis lost its data';
}

export interface ReconcileOptions {
  /** re-ship every exported table in full (a finished version whose export job Redis lost) */
  exports?: boolean;
  /**
   * The periodic (fleet) mode: a table found clean at its latest version is not looked at again
   * until it changes; rows of versions younger than `graceMs` are left to their own jobs.
   */
  periodic?: {
    graceMs: number;
    /** a stuck export is tried again (a full ship) only once its last try is this old; at once when absent */
    stuckRetryMs?: number;
    /**
     * Redis lost its data this recently (a flush, a failover to an empty replica): rows no job covers
     * are not enqueued yet. Jobs that were running then are gone from Redis but not from their
     * workers, which go on computing until a lock renewal fails and stops them; enqueued now, their
     * rows would be computed twice, model calls included. Absent or 0: enqueue at once.
     */
    settlingMs?: number;
  };
}

const LIVE_STATES = ['active', 'waiting', 'delayed', 'waiting-children', 'prioritized'] as const;

/**
 * Find every cell that should have a value and has neither value nor error, and no live job
 * covering it, and enqueue it again. Redis holds only work in flight, so after Redis loses its
 * data (a flush, a failover), after a job exhausted its attempts or was refused by a worker with
 * other code, or after a crash, this restores the run; running it when nothing is lost enqueues
 * nothing. The fleet runs it itself (reconcile-scheduler.ts); `tessera reconcile` runs it now.
 */
export async function reconcile(engine: Engine, pipeline: string, opts: ReconcileOptions = {}): Promise<ReconcileReport[]> {
  const reports: ReconcileReport[] = [];
  const { store } = engine;
  for (const table of await store.tables(pipeline)) {
    const finalizing = await liveFinalizeJobs(engine, pipeline, table);
    // a finished version whose export job Redis lost leaves no pending cell: re-ship in full when asked
    // (the finalize job of a table without exports ships nothing)
    if (opts.exports) await engine.exportFull(pipeline, table.name);
    else {
      // an export left stuck (a schema mismatch, a permission) tries again, in full: fixed targets
      // converge by themselves. The fleet's ticks space the tries out (a full ship of a large table
      // every tick would load the record and the target for nothing until a person fixes it)
      const due = Date.now() - (opts.periodic?.stuckRetryMs ?? 0);
      const states = (await engine.store.exports.states(pipeline)).filter((e) => e.table === table.name && (e.updatedAt?.getTime() ?? 0) <= due);
      const stuck = states.filter((e) => e.state === 'stuck').map((e) => e.sink);
      const unshipped = await neverShipped(engine, table, states, finalizing);
      // their next try is spaced from now, as a stuck export's is from its refusal
      if (unshipped.length) await engine.store.exports.touch(table, unshipped);
      if (stuck.length || unshipped.length) await engine.exportFull(pipeline, table.name, { sinks: [...stuck, ...unshipped] });
    }
    const reshipped = await reshipLostVersions(engine, pipeline, table, finalizing, opts.periodic?.graceMs ?? 0);
    const iterations = selectIterations(table);
    if (!table.stages.length && !iterations.length) continue;
    const report: ReconcileReport = { pipeline, table: table.name, pendingBatches: 0, covered: 0, enqueued: 0, ...(reshipped.length ? { reshipped } : {}) };
    reports.push(report);
    const columns = [...table.stages.flatMap((s) => s.columns), ...iterations.map((i) => i.column)];
    const mark = await store.pending.mark(table);
    let afterVersion: number | undefined;
    if (opts.periodic) {
      const scope = await store.pending.scope(table, mark);
      if (scope.clean) {
        report.skipped = 'clean';
        continue;
      }
      afterVersion = scope.afterVersion;
      // a recompute or schema change resets cells in place: its own jobs are being enqueued now
      if (!['insert', 'update', 'upsert', 'delete'].includes(mark.kind) && mark.ageMs < opts.periodic.graceMs) {
        report.skipped = 'recent change';
        continue;
      }
    }
    const aborted = await store.history.abortedList(table);
    const scope = { columns, excludeVersions: aborted, ...(afterVersion === undefined ? {} : { afterVersion }) };
    if (!(await store.pending.any(table, scope))) {
      await store.pending.markClean(table, mark);
      continue;
    }
    // live jobs first, then pending rows: a job finishing in between has written its cells already
    const live: RowSelector[] = [];
    for (const q of new Set([...table.stages.map((s) => s.queue), ...iterations.map((i) => i.queue)].map(queueName))) {
      for (const job of await engine.queue(q).getJobs([...LIVE_STATES])) {
        const d = job?.data;
        if ((d?.kind === 'stage' || d?.kind === 'iterate') && d.pipeline === pipeline && d.table === table.name) live.push({ lo: d.lo, hi: d.hi });
      }
    }
    const todo = await store.pending.uncovered(table, {
      ...scope,
      size: engine.config.batchSize,
      covered: live,
      graceMs: opts.periodic?.graceMs ?? 0,
    });
    report.pendingBatches = todo.length;
    if (todo.length && opts.periodic?.settlingMs) {
      report.skipped = 'redis lost its data';
      continue;
    }
    if (todo.length) {
      await engine.flows.add(
        buildVersionFlow(
          {
            pipeline,
            table: table.name,
            version: table.version,
            stages: table.stages,
            iterations,
            batches: todo,
            tag: `reconcile-${Date.now()}`,
            shipBatches: true,
          },
          { attempts: engine.config.jobAttempts },
        ),
      );
    }
    report.enqueued = todo.length;
  }
  return reports;
}

/**
 * Versions no finalize has shipped and no live finalize job will: their finalize job was lost
 * (Redis lost it, or it gave up after a target stayed down longer than TESSERA_EXPORT_RETRY_FOR_MS).
 * Each gets a finalize of its own again, which ships what the version changed (in full if a failed
 * ship left the export needing it). Live jobs are read first, so one finishing in between is seen
 * as shipped, not as lost.
 */
async function reshipLostVersions(engine: Engine, pipeline: string, table: CatalogTable, finalizing: FinalizeJob[], graceMs: number): Promise<number[]> {
  const live = new Set(finalizing.filter((d) => !d.rows && !d.sinks).map((d) => d.version));
  const lost = (await engine.store.history.unshipped(table, graceMs)).filter((v) => !live.has(v));
  for (const version of lost) {
    await engine.flows.add(
      buildVersionFlow({ pipeline, table: table.name, version, stages: [], batches: [], tag: `reship-${Date.now()}` }, { attempts: engine.config.jobAttempts }),
    );
  }
  return lost;
}

/** The table's finalize jobs waiting or running (read before the record, so one finishing in between is seen as done). */
async function liveFinalizeJobs(engine: Engine, pipeline: string, table: CatalogTable): Promise<FinalizeJob[]> {
  const live: FinalizeJob[] = [];
  for (const job of await engine.queue(CONTROL_QUEUE).getJobs([...LIVE_STATES])) {
    const d = job?.data;
    if (d?.kind === 'finalize' && d.pipeline === pipeline && d.table === table.name) live.push(d as FinalizeJob);
  }
  return live;
}

/**
 * Exports (among `states`, those due) never shipped though the table has rows and no finalize is
 * left to ship them: every version is shipped and no finalize job of the table is live. Their full
 * ship ran on workers whose code lacks the export (a deploy still rolling out: such a worker ships
 * the exports it knows), or was lost; without a write to the table nothing would ship them again.
 * A backfill still running, or a full ship waiting, is left to do it.
 */
async function neverShipped(engine: Engine, table: CatalogTable, states: ExportState[], finalizing: FinalizeJob[]): Promise<string[]> {
  const fresh = states.filter((e) => e.state === 'new').map((e) => e.sink);
  if (!fresh.length || finalizing.length) return [];
  if ((await engine.store.history.unshipped(table, 0)).length || !(await engine.store.exports.hasRows(table))) return [];
  return fresh;
}
