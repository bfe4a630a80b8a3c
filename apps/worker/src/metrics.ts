import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** job and export durations: from tens of milliseconds to a 4-hour video */
const LONG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400];
/** model requests and limiter waits: milliseconds to minutes */
const MODEL_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

/**
 * Prometheus metrics of one worker process. Counters count what this process did; the queue-depth
 * gauge is read from Redis at scrape time and is the same on every worker (aggregate with max()).
 */
export function createMetrics(opts: { queueDepth?: () => Promise<Array<{ queue: string; counts: Record<string, number> }>> } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_' });
  const r = [registry];
  return {
    registry,
    queueJobs: new Gauge({
      name: 'tessera_queue_jobs',
      help: 'jobs in each queue by state (read from Redis at scrape time)',
      labelNames: ['queue', 'state'],
      registers: r,
      async collect() {
        if (!opts.queueDepth) return;
        this.reset();
        for (const { queue, counts } of await opts.queueDepth().catch(() => [])) {
          for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
        }
      },
    }),
    jobs: new Counter({
      name: 'tessera_jobs_total',
      help: 'jobs finished (completed, failed) or sent back to their queue to wait for the rate limiter (requeued) or to go on after progress (continued), by queue',
      labelNames: ['queue', 'outcome'],
      registers: r,
    }),
    retries: new Counter({
      name: 'tessera_job_retries_total',
      help: 'failed attempts of jobs that then completed, by queue',
      labelNames: ['queue'],
      registers: r,
    }),
    jobSeconds: new Histogram({
      name: 'tessera_job_duration_seconds',
      help: 'time a completed job ran, by queue',
      labelNames: ['queue'],
      buckets: LONG_BUCKETS,
      registers: r,
    }),
    cells: new Counter({
      name: 'tessera_cells_total',
      help: 'computed cells written, by pipeline, table, column and outcome (ok, error)',
      labelNames: ['pipeline', 'table', 'column', 'outcome'],
      registers: r,
    }),
    usage: new Counter({
      name: 'tessera_model_usage_total',
      help: 'model calls, tokens, 429s, cache hits, limiter waits and requeues reported by UDFs; limiter pauses',
      labelNames: ['counter'],
      registers: r,
    }),
    modelRequests: new Counter({
      name: 'tessera_model_requests_total',
      help: 'model requests by provider, model and outcome (ok, 429, error)',
      labelNames: ['provider', 'model', 'outcome'],
      registers: r,
    }),
    modelSeconds: new Histogram({
      name: 'tessera_model_request_duration_seconds',
      help: 'model request latency, without the wait for the rate limiter',
      labelNames: ['provider', 'model'],
      buckets: MODEL_BUCKETS,
      registers: r,
    }),
    modelTokens: new Counter({
      name: 'tessera_model_tokens_total',
      help: 'tokens the model responses reported',
      labelNames: ['provider', 'model'],
      registers: r,
    }),
    limiterWaitSeconds: new Histogram({
      name: 'tessera_limiter_wait_seconds',
      help: 'time model calls waited in their job for a fleet rate-limit slot',
      labelNames: ['provider', 'model'],
      buckets: MODEL_BUCKETS,
      registers: r,
    }),
    limiterPauses: new Counter({ name: 'tessera_limiter_pauses_total', help: 'times a 429 paused a provider and model for the whole fleet', registers: r }),
    exportRows: new Counter({
      name: 'tessera_export_rows_total',
      help: 'rows shipped to export sinks, by sink and operation (upsert, delete)',
      labelNames: ['sink', 'op'],
      registers: r,
    }),
    exportSeconds: new Histogram({
      name: 'tessera_export_duration_seconds',
      help: 'time one version took to ship to a sink',
      labelNames: ['sink'],
      buckets: LONG_BUCKETS,
      registers: r,
    }),
    exportLagSeconds: new Histogram({
      name: 'tessera_export_lag_seconds',
      help: 'from the version being planned (its finalize job created) to its rows in the sink',
      labelNames: ['sink'],
      buckets: LONG_BUCKETS,
      registers: r,
    }),
    controlRuns: new Counter({
      name: 'tessera_control_runs_total',
      help: 'runs of fleet jobs on the control queue (reconcile, schedules, sources) by job name and outcome',
      labelNames: ['name', 'outcome'],
      registers: r,
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
