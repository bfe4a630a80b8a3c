import type { Engine } from '@tessera/runtime';

export const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

export interface QueueView {
  name: string;
  counts: Record<string, number>;
  failed: Array<{ id: string; name: string; reason: string; attempts: number; finishedOn: number | null; data: unknown }>;
}

/** The fleet's queues with their counts and latest failed jobs (with the full failure reason). */
export async function queues(engine: Engine, names: string[], failedLimit = 20): Promise<QueueView[]> {
  return Promise.all(
    names.map(async (name) => {
      const q = engine.queue(name);
      const [counts, failed] = await Promise.all([q.getJobCounts(...STATES), q.getFailed(0, failedLimit - 1)]);
      return {
        name,
        counts,
        failed: failed.map((j) => ({
          id: j.id!,
          name: j.name,
          reason: j.failedReason,
          attempts: j.attemptsMade,
          finishedOn: j.finishedOn ?? null,
          data: j.data,
        })),
      };
    }),
  );
}

/** Queue names of the fleet: the base queues and every model queue the catalog plans work on. */
export async function queueNames(engine: Engine, base: readonly string[]): Promise<string[]> {
  const names = new Set(base);
  for (const p of await engine.store.pipelines()) (await engine.queuesOf(p).catch(() => [])).forEach((q) => names.add(q));
  return [...names];
}
