import type { Logger } from 'pino';
import type { ModelCallObservation } from '@tessera/core';
import { CONTROL_QUEUE, type WorkerEvents } from '@tessera/runtime';
import type { Metrics } from './metrics';

interface StageResult {
  computed?: number;
  failed?: number;
  columns?: Record<string, { computed: number; failed: number }>;
}
interface FinalizeResult {
  exports?: Array<{ sink: string; upserted: number; deleted: number; ms?: number }>;
}

/** The worker pool's job events as Prometheus metrics and pino log lines (each with its job id). */
export function observeJobs(metrics: Metrics, log: Logger): WorkerEvents {
  return {
    completed(queue, job, result, ms) {
      metrics.jobs.inc({ queue, outcome: 'completed' });
      metrics.jobSeconds.observe({ queue }, ms / 1000);
      // attempts spent by failures before this success (a wait for the rate limiter spends none)
      if (job.attemptsMade > 0) metrics.retries.inc({ queue }, job.attemptsMade);
      if (queue === CONTROL_QUEUE) metrics.controlRuns.inc({ name: job.name, outcome: 'completed' });
      // per kind of result, in functions of their own: this runs for every job of every queue, and
      // a small function per shape stays optimized where one taking every shape would not
      const columns = (result as StageResult | undefined)?.columns;
      if (columns) observeCells(metrics, job.data as { pipeline?: string; table?: string } | undefined, columns);
      const exports = (result as FinalizeResult | undefined)?.exports;
      if (exports) observeExports(metrics, exports, job.timestamp);
      log.debug({ queue, jobId: job.id, jobName: job.name, ms, result }, 'job completed');
    },
    completedMany(queue, jobs) {
      metrics.jobs.inc({ queue, outcome: 'completed' }, jobs.length);
      let retries = 0;
      for (const { ms, attemptsMade } of jobs) {
        metrics.jobSeconds.observe({ queue }, ms / 1000);
        retries += attemptsMade;
      }
      if (retries > 0) metrics.retries.inc({ queue }, retries);
      log.debug({ queue, jobs: jobs.length }, 'jobs completed');
    },
    failed(queue, job, err) {
      metrics.jobs.inc({ queue, outcome: 'failed' });
      if (queue === CONTROL_QUEUE && job) metrics.controlRuns.inc({ name: job.name, outcome: 'failed' });
      log.warn({ queue, jobId: job?.id, jobName: job?.name, attempts: job?.attemptsMade, err: err.message }, 'job failed');
    },
    continued(queue, job, delayMs) {
      metrics.jobs.inc({ queue, outcome: 'continued' });
      log.debug({ queue, jobId: job.id, delayMs }, 'job made progress and went back to its queue for the rest');
    },
    cellsFilled(pipeline, table, filled) {
      for (const [column, n] of Object.entries(filled)) if (n > 0) metrics.cells.inc({ pipeline, table, column, outcome: 'ok' }, n);
    },
    requeued(queue, job, delayMs) {
      metrics.jobs.inc({ queue, outcome: 'requeued' });
      log.debug({ queue, jobId: job.id, delayMs }, 'job back to its queue to wait for the rate limiter');
    },
  };
}

function observeCells(metrics: Metrics, data: { pipeline?: string; table?: string } | undefined, columns: NonNullable<StageResult['columns']>): void {
  const { pipeline, table } = data ?? {};
  for (const [column, n] of Object.entries(columns)) {
    metrics.cells.inc({ pipeline, table, column, outcome: 'ok' }, n.computed);
    metrics.cells.inc({ pipeline, table, column, outcome: 'error' }, n.failed);
  }
}

function observeExports(metrics: Metrics, exports: NonNullable<FinalizeResult['exports']>, jobTimestamp: number): void {
  for (const e of exports) {
    metrics.exportRows.inc({ sink: e.sink, op: 'upsert' }, e.upserted);
    metrics.exportRows.inc({ sink: e.sink, op: 'delete' }, e.deleted);
    if (e.ms !== undefined) metrics.exportSeconds.observe({ sink: e.sink }, e.ms / 1000);
    metrics.exportLagSeconds.observe({ sink: e.sink }, Math.max(0, Date.now() - jobTimestamp) / 1000);
  }
}

/** One model request as metrics: latency, outcome, tokens and the wait for the fleet's limiter. */
export function observeModelCalls(metrics: Metrics) {
  return (c: ModelCallObservation) => {
    const labels = { provider: c.provider, model: c.model };
    metrics.modelRequests.inc({ ...labels, outcome: c.outcome });
    metrics.modelSeconds.observe(labels, c.ms / 1000);
    if (c.tokens > 0) metrics.modelTokens.inc(labels, c.tokens);
    metrics.limiterWaitSeconds.observe(labels, c.waitedMs / 1000);
  };
}
