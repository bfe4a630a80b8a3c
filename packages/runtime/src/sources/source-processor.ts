import { UnrecoverableError, type Job } from 'bullmq';
import type { Engine } from '../engine';
import type { PipelineRegistry } from '../registry';
import { runSource } from './run-source';
import type { SourceRunReport } from './source-events';
import { SourceJob } from './source-job';

/** A scheduler tick on a worker: run the source with the pipeline code this worker has. */
export async function runSourceJob(job: Job, deps: { engine: Engine; registry: PipelineRegistry }): Promise<SourceRunReport> {
  const parsed = SourceJob.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid source job: ${parsed.error.message}`);
  const { pipeline, source } = parsed.data;
  return runSource(deps.engine, deps.registry.get(pipeline), source, { trigger: 'schedule', ...(job.id ? { tick: job.id } : {}) });
}
