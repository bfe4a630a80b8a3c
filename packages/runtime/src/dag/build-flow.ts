import type { FlowJob } from 'bullmq';
import type { Stage } from '@tessera/core';
import type { RowSelector } from '@tessera/store';
import { CONTROL_QUEUE, queueName } from '../jobs/queues';
import type { FinalizeJob, StageJob } from '../jobs/payloads';

export interface FlowTarget {
  pipeline: string;
  table: string;
  version: number;
  stages: Stage[];
  batches: RowSelector[];
  /** distinguishes a reconcile's jobs from the original ones */
  tag?: string;
  /** finalize re-ships every live row to the exports */
  full?: boolean;
  /** stage jobs make fresh model calls instead of answering from the response cache */
  fresh?: boolean;
}

export interface JobDefaults {
  attempts: number;
}

/**
 * The job DAG of one table version. BullMQ flows are trees, so each batch's stages form a chain
 * (a parent runs after its child: stage k+1 after stage k) and every chain hangs under one
 * finalize job. Every child ignores its own failure for the parent's sake: a failed batch leaves
 * its cells pending for `reconcile` instead of leaving a parent waiting forever.
 */
export function buildVersionFlow(t: FlowTarget, defaults: JobDefaults): FlowJob {
  const idBase = `${t.pipeline}/${t.table}/v${t.version}${t.tag ? `/${t.tag}` : ''}`;
  const opts = {
    attempts: defaults.attempts,
    // jitter: jobs that failed together (a provider outage, a 429) do not all retry together
    backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: { count: 5000 },
    ignoreDependencyOnFailure: true,
  };
  const chains: FlowJob[] = [];
  for (const b of t.batches) {
    let child: FlowJob | undefined;
    t.stages.forEach((stage, i) => {
      const data: StageJob = {
        kind: 'stage',
        pipeline: t.pipeline,
        table: t.table,
        version: t.version,
        columns: stage.columns,
        lo: b.lo,
        hi: b.hi,
        ...(b.vMin === undefined ? {} : { vMin: b.vMin }),
        ...(t.fresh ? { fresh: true } : {}),
      };
      const job: FlowJob = {
        name: `stage${i}`,
        queueName: queueName(stage.queue),
        data,
        opts: { ...opts, jobId: `${idBase}/s${i}/${b.lo}-${b.hi}` },
        ...(child ? { children: [child] } : {}),
      };
      child = job;
    });
    if (child) chains.push(child);
  }
  const finalize: FinalizeJob = { kind: 'finalize', pipeline: t.pipeline, table: t.table, version: t.version, ...(t.full ? { full: true } : {}) };
  return {
    name: 'finalize',
    queueName: CONTROL_QUEUE,
    data: finalize,
    opts: { attempts: defaults.attempts, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: true, removeOnFail: { count: 5000 }, jobId: `${idBase}/final` },
    children: chains,
  };
}
