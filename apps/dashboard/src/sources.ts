import { sourceStatuses, type Engine, type SourceStatus } from '@tessera/runtime';

export interface SourceRunView {
  status: string;
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  inserted: number;
  updated: number;
  deleted: number;
  rejected: number;
  /** the run's error, else the first rejected item's problem */
  error: string | null;
}

export interface SourceView {
  pipeline: string;
  name: string;
  table: string;
  kind: string;
  description: string;
  schedule: string;
  paused: boolean;
  lastRun: SourceRunView | null;
  nextRun: string | null;
  /** SQL sources: the committed cursor; listing sources: how many files they have seen */
  watermark: string;
}

/** Every source of the catalog, as `tessera schedules` shows it. */
export async function sources(engine: Engine): Promise<SourceView[]> {
  return (await sourceStatuses(engine)).map(sourceView);
}

function sourceView(s: SourceStatus): SourceView {
  const r = s.lastRun;
  return {
    pipeline: s.pipeline,
    name: s.name,
    table: s.table,
    kind: s.kind,
    description: s.description,
    schedule: s.scheduleText,
    paused: s.paused,
    lastRun: r && {
      status: r.status,
      trigger: r.trigger,
      startedAt: r.startedAt.toISOString(),
      finishedAt: r.finishedAt?.toISOString() ?? null,
      durationMs: r.finishedAt ? r.finishedAt.getTime() - r.startedAt.getTime() : null,
      inserted: r.inserted,
      updated: r.updated,
      deleted: r.deleted,
      rejected: r.rejected,
      error: r.error ?? r.problems[0] ?? null,
    },
    nextRun: s.nextRun?.toISOString() ?? null,
    watermark: s.kind === 'query' ? ((s.watermark as { watermark?: unknown } | null)?.watermark?.toString() ?? '(start)') : `${s.items} file(s) seen`,
  };
}
