import { describeSchedule, type PipelineDef, type Schedule } from '@tessera/core';
import type { SourceInfo } from '@tessera/store';
import type { Engine } from '../engine';
import { SOURCES_QUEUE, schedulerId, type SourceJob } from './source-job';

/** BullMQ's repeat options for a schedule. */
const repeatOf = (s: Schedule) => ('everyMs' in s ? { every: s.everyMs } : { pattern: s.cron, ...(s.tz ? { tz: s.tz } : {}) });

/** Add or update the job scheduler of a source: one job per tick for the whole fleet. */
async function upsertScheduler(engine: Engine, pipeline: string, source: string, schedule: Schedule): Promise<void> {
  const data: SourceJob = { kind: 'source', pipeline, source };
  // a run's outcome is recorded on the run; a tick is not retried (the next tick is the retry)
  await engine.queue(SOURCES_QUEUE).upsertJobScheduler(schedulerId(pipeline, source), repeatOf(schedule), {
    name: 'source',
    data,
    opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 },
  });
}

/**
 * Make the schedulers match the pipeline's sources (called by apply): a new or changed schedule
 * is upserted, a source without one or paused has none, a removed source's scheduler and state go.
 */
export async function syncSources(engine: Engine, def: PipelineDef): Promise<void> {
  const states = engine.store.sources;
  const sources = def.sources ?? [];
  const removed = await states.sync(
    def.name,
    sources.map((s) => ({ name: s.name, table: s.table, kind: s.reader.kind, description: s.reader.description, schedule: s.schedule ?? null })),
  );
  const queue = engine.queue(SOURCES_QUEUE);
  for (const name of removed) await queue.removeJobScheduler(schedulerId(def.name, name));
  const paused = new Set((await states.list(def.name)).filter((s) => s.paused).map((s) => s.name));
  for (const s of sources) {
    if (s.schedule && !paused.has(s.name)) await upsertScheduler(engine, def.name, s.name, s.schedule);
    else await queue.removeJobScheduler(schedulerId(def.name, s.name));
  }
  // schedulers of sources this pipeline no longer has, even if their state was already gone
  for (const sch of await queue.getJobSchedulers(0, -1)) {
    const m = /^source:([^:]+):(.+)$/.exec(sch.key);
    if (m && m[1] === def.name && !sources.some((s) => s.name === m[2])) await queue.removeJobScheduler(sch.key);
  }
}

/** Stop a source's ticks (its state and watermark stay); a tick already queued is skipped. */
export async function pauseSource(engine: Engine, pipeline: string, source: string): Promise<SourceInfo> {
  const info = await engine.store.sources.setPaused(pipeline, source, true);
  await engine.queue(SOURCES_QUEUE).removeJobScheduler(schedulerId(pipeline, source));
  return info;
}

/** Start a paused source's ticks again, on the schedule the last apply recorded. */
export async function resumeSource(engine: Engine, pipeline: string, source: string): Promise<SourceInfo> {
  const info = await engine.store.sources.setPaused(pipeline, source, false);
  if (info.schedule) await upsertScheduler(engine, pipeline, source, info.schedule);
  return info;
}

export interface SourceStatus extends SourceInfo {
  /** when the scheduler's next tick is due (null: paused, or no schedule) */
  nextRun: Date | null;
  scheduleText: string;
}

/** Sources with their schedule, last run, next run and watermark (`tessera schedules`, `tessera status`). */
export async function sourceStatuses(engine: Engine, pipeline?: string): Promise<SourceStatus[]> {
  const list = await engine.store.sources.list(pipeline);
  const queue = engine.queue(SOURCES_QUEUE);
  return Promise.all(
    list.map(async (s) => {
      const sch = s.schedule && !s.paused ? await queue.getJobScheduler(schedulerId(s.pipeline, s.name)) : undefined;
      return { ...s, nextRun: sch?.next ? new Date(sch.next) : null, scheduleText: describeSchedule(s.schedule) };
    }),
  );
}
