import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one worker process. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_' });
  return {
    registry,
    jobs: new Counter({ name: 'tessera_jobs_total', help: 'jobs finished (completed, failed) or sent back to their queue to wait for the rate limiter (requeued) or to go on after progress (continued), by queue', labelNames: ['queue', 'outcome'], registers: [registry] }),
    retries: new Counter({ name: 'tessera_job_retries_total', help: 'failed attempts of jobs that then completed, by queue', labelNames: ['queue'], registers: [registry] }),
    jobSeconds: new Histogram({ name: 'tessera_job_seconds', help: 'job duration', labelNames: ['queue'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120], registers: [registry] }),
    cells: new Counter({ name: 'tessera_cells_total', help: 'computed cells written, by outcome', labelNames: ['pipeline', 'table', 'outcome'], registers: [registry] }),
    usage: new Counter({ name: 'tessera_model_usage_total', help: 'model calls, tokens, 429s, cache hits, limiter waits and requeues reported by UDFs; limiter pauses', labelNames: ['counter'], registers: [registry] }),
    activeJobs: new Gauge({ name: 'tessera_active_jobs', help: 'jobs being processed', labelNames: ['queue'], registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
