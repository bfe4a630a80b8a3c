import type { Engine } from '@tessera/runtime';
import { progressBar } from '../format';

/** Every table's cells done, pending and failed, per column, as the CLI's status shows them. */
export async function statusReport(engine: Engine, pipeline: string): Promise<{ text: string; pending: number }> {
  const lines: string[] = [];
  let pending = 0;
  for (const t of await engine.store.tables(pipeline)) {
    const s = await engine.store.status(pipeline, t.name);
    pending += s.columns.reduce((a, c) => a + c.pending, 0);
    lines.push(`${pipeline}.${t.name} (${t.kind}): ${s.rows} rows`);
    for (const c of s.columns)
      lines.push(
        `  ${c.column.padEnd(12)} ${progressBar(c.done, c.failed, c.done + c.pending + c.failed)}  done ${c.done}  pending ${c.pending}  failed ${c.failed}`,
      );
  }
  return { text: lines.join('\n'), pending };
}

/** Wait until no cell of these pipelines is pending, printing a line of progress every few seconds. */
export async function waitForCells(engine: Engine, pipelines: string[], timeoutMs: number): Promise<void> {
  const started = Date.now();
  let said = 0;
  for (;;) {
    const pending = await Promise.all(pipelines.map(async (p) => [p, (await statusReport(engine, p)).pending] as const));
    if (pending.every(([, n]) => n === 0)) return;
    if (Date.now() - started > timeoutMs) throw new Error(`not done after ${timeoutMs / 1000} s; see \`npm run tessera -- status ${pipelines[0]}\``);
    if (Date.now() - said > 3000) {
      said = Date.now();
      console.log(`  ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s  pending: ${pending.map(([p, n]) => `${p} ${n} cell(s)`).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Exports run as each version's last job, after its cells: wait until the queues these pipelines
 * use (and the control queue, where exports run) hold no unfinished job.
 */
/**
 * Work still to run in a queue. The fleet's own job schedulers (the periodic reconcile) always keep
 * their next run delayed in the control queue: that is not work in flight.
 */
async function queueBusy(engine: Engine, name: string): Promise<boolean> {
  const queue = engine.queue(name);
  const counts = await queue.getJobCounts('waiting', 'active', 'waiting-children', 'prioritized');
  if (Object.values(counts).some((n) => n > 0)) return true;
  return (await queue.getDelayed(0, 1000)).some((job) => !job.repeatJobKey);
}

export async function waitForQueues(engine: Engine, pipelines: string[], timeoutMs: number): Promise<void> {
  const queues = new Set(['control', 'cpu', 'media']);
  for (const p of pipelines) for (const q of await engine.queuesOf(p)) queues.add(q);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const busy = await Promise.all([...queues].map((q) => queueBusy(engine, q)));
    if (!busy.some(Boolean)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`export jobs still running after ${timeoutMs / 1000} s`);
}
