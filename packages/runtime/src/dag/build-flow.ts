import type { FlowJob } from 'bullmq';
import type { Stage } from '@tessera/core';
import type { RowSelector } from '@tessera/store';
import { CONTROL_QUEUE, queueName } from '../jobs/queues';
import type { DerivedWork, FinalizeJob, IterateJob, StageJob } from '../jobs/payloads';

/** A view's iteration of a version's rows: which iteration column, on which queue, placed where. */
export interface FlowIteration {
  column: string;
  queue: string;
  /** after the batch's stages (the view reads a computed column of the base) rather than beside them */
  after: boolean;
}

export interface FlowTarget {
  pipeline: string;
  table: string;
  version: number;
  stages: Stage[];
  iterations?: FlowIteration[];
  batches: RowSelector[];
  /** distinguishes a reconcile's jobs from the original ones */
  tag?: string;
  /** finalize re-ships every live row to the exports */
  full?: boolean;
  /** finalize ships the live rows of the batches (a reconcile's: rows held back until their cells were done) */
  shipBatches?: boolean;
  /** finalize ships only to these exports (sink names) */
  sinks?: string[];
  /** stage jobs make fresh model calls instead of answering from the response cache */
  fresh?: boolean;
  /** view work to start once this version's work is done */
  derived?: DerivedWork[];
  /** no cell of the version's rows is pending: its finalize records that (see Engine.waitVersion) */
  nothingLeft?: boolean;
}

export interface JobDefaults {
  attempts: number;
}

/** The id prefix of a version's jobs. */
export const flowId = (t: Pick<FlowTarget, 'pipeline' | 'table' | 'version' | 'tag'>) => `${t.pipeline}/${t.table}/v${t.version}${t.tag ? `/${t.tag}` : ''}`;

/** Options every job of a version's DAG shares. */
export function jobOptions(defaults: JobDefaults) {
  return {
    attempts: defaults.attempts,
    // jitter: jobs that failed together (a provider outage, a 429) do not all retry together
    backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: { count: 5000 },
  } as const;
}

/**
 * The id of a part an iterate job splits off (see runIterate): its origin's id and the part's rowids.
 * A part that splits again names the origin, not itself, so ids stay one range long however often
 * a batch of large rows is split; the origin and the range name the work exactly.
 */
export function splitPartId(jobId: string, lo: number, hi: number): string {
  return `${jobId.replace(/\/part-\d+-\d+$/, '')}/part-${lo}-${hi}`;
}

/**
 * The job DAG of one table version. BullMQ flows are trees, so each batch's stages form a chain
 * (a parent runs after its child: stage k+1 after stage k) and every chain hangs under one
 * finalize job. A view's iterate job for the batch sits on top of the chain when the view reads
 * the base's computed columns, else beside the chain. Every child ignores its own failure for the
 * parent's sake: a failed batch leaves its cells pending for `reconcile` instead of leaving a
 * parent waiting forever.
 */
export function buildVersionFlow(t: FlowTarget, defaults: JobDefaults): FlowJob {
  const idBase = flowId(t);
  const opts = { ...jobOptions(defaults), ignoreDependencyOnFailure: true };
  const children: FlowJob[] = [];
  for (const b of t.batches) {
    const range = { lo: b.lo, hi: b.hi, ...(b.vMin === undefined ? {} : { vMin: b.vMin }) };
    let top: FlowJob | undefined;
    t.stages.forEach((stage, i) => {
      const data: StageJob = {
        kind: 'stage',
        pipeline: t.pipeline,
        table: t.table,
        version: t.version,
        columns: stage.columns,
        ...range,
        ...(t.fresh ? { fresh: true } : {}),
      };
      top = {
        name: `stage${i}`,
        queueName: queueName(stage.queue),
        data,
        opts: { ...opts, jobId: `${idBase}/s${i}/${b.lo}-${b.hi}` },
        ...(top ? { children: [top] } : {}),
      };
    });
    const beside: FlowJob[] = [];
    for (const it of t.iterations ?? []) {
      const data: IterateJob = { kind: 'iterate', pipeline: t.pipeline, table: t.table, version: t.version, column: it.column, ...range };
      const job: FlowJob = {
        name: `iterate:${it.column}`,
        queueName: queueName(it.queue),
        data,
        opts: { ...opts, jobId: `${idBase}/it-${it.column}/${b.lo}-${b.hi}` },
      };
      if (it.after && top) top = { ...job, children: [top] };
      else beside.push(job);
    }
    if (top) children.push(top);
    children.push(...beside);
  }
  const finalize: FinalizeJob = {
    kind: 'finalize',
    pipeline: t.pipeline,
    table: t.table,
    version: t.version,
    ...(t.full ? { full: true } : {}),
    ...(t.shipBatches && !t.full ? { rows: t.batches.map((b) => ({ lo: b.lo, hi: b.hi })) } : {}),
    ...(t.sinks?.length ? { sinks: t.sinks } : {}),
    ...(t.derived?.length ? { derived: t.derived } : {}),
    ...(t.nothingLeft ? { nothingLeft: true } : {}),
  };
  return { name: 'finalize', queueName: CONTROL_QUEUE, data: finalize, opts: { ...jobOptions(defaults), jobId: `${idBase}/final` }, children };
}
