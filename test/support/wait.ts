import type { Engine } from '@tessera/runtime';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `probe` until it returns something truthy, and return that; past the timeout, fail naming
 * `what` was awaited. Tests wait for outcomes this way, never for a fixed time.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(opts.everyMs ?? 100);
  }
}

const OPEN_STATES = ['waiting', 'active', 'delayed', 'waiting-children', 'prioritized'] as const;

/** Jobs still to run in these queues (waiting, active, delayed, waiting for children, prioritized). */
export async function openJobs(engine: Engine, queues: readonly string[]): Promise<number> {
  let n = 0;
  for (const q of queues) n += Object.values(await engine.queue(q).getJobCounts(...OPEN_STATES)).reduce((a, c) => a + c, 0);
  return n;
}

/**
 * Wait until every cell of the pipeline is computed and then until the queues are drained: the
 * control queue runs each version's finalize job (its exports) after the cells; view DAGs start
 * from jobs of their own, so the views tests pass `['control', 'cpu', 'media']`. A timeout names
 * the jobs left.
 */
export async function waitForExports(engine: Engine, pipeline: string, opts: { queues?: readonly string[]; timeoutMs?: number } = {}): Promise<void> {
  const queues = opts.queues ?? ['control'];
  const timeoutMs = opts.timeoutMs ?? 120_000;
  await engine.waitIdle(pipeline, { timeoutMs });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await openJobs(engine, queues)) === 0) {
      // a drained view DAG may have made cells of its own
      await engine.waitIdle(pipeline, { timeoutMs });
      return;
    }
    await sleep(50);
  }
  const left: string[] = [];
  for (const q of queues)
    for (const j of await engine.queue(q).getJobs([...OPEN_STATES])) left.push(`${q} ${j.id} ${await j.getState()} ${j.failedReason ?? ''}`);
  throw new Error(`exports did not finish: ${left.join('; ')}`);
}
