import type { WorkerProcess } from './worker-process';

/** Label values a sample must have: a string is matched exactly, a pattern is tested against the value. */
export type Labels = Record<string, string | RegExp>;

/**
 * The sum of a metric over the workers' /metrics endpoints, over the samples whose labels match
 * `labels` (all samples of the metric when none are given).
 */
export async function workerMetric(workers: WorkerProcess[], name: string, labels: Labels = {}): Promise<number> {
  let sum = 0;
  for (const w of workers) sum += metricSample(await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text(), name, labels);
  return sum;
}

/** The sum of one metric's samples in a Prometheus text exposition, over those whose labels match `labels`. */
export function metricSample(text: string, name: string, labels: Labels = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(?:\\{([^}]*)\\})? ([0-9.e+-]+)$`).exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => (typeof v === 'string' ? have[k] === v : have[k] !== undefined && v.test(have[k]!)))) sum += Number(m[2]);
  }
  return sum;
}
