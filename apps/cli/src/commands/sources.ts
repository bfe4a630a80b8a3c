import { pauseSource, resumeSource, runSource, sourceStatuses, type SourceStatus } from '@tessera/runtime';
import type { CliContext } from '../context';
import { formatTable } from '../format';

/** `tessera backfill <pipeline> <source> [--from W] [--full]`: run a source now, in this process (a scheduled run of it going on elsewhere makes this wait for nothing: it is skipped). */
export async function backfillCommand(ctx: CliContext, args: string[], flags: { from?: string; full?: boolean }) {
  const [pipeline, source] = args;
  if (!pipeline || !source) throw new Error('usage: tessera backfill <pipeline> <source> [--from WATERMARK] [--full]');
  const def = await ctx.pipeline(pipeline);
  const engine = await ctx.engineFor(pipeline);
  const r = await runSource(engine, def, source, {
    trigger: 'manual',
    ...(flags.full ? { full: true } : {}),
    ...(flags.from !== undefined ? { from: flags.from } : {}),
    onPage: (t) =>
      void process.stderr.write(
        `\r${pipeline}.${source}: ${t.pages} page(s), ${t.inserted} inserted, ${t.updated} updated, ${t.deleted} deleted, ${t.rejected} rejected`,
      ),
  });
  process.stderr.write('\n');
  const counts = `${r.inserted} inserted, ${r.updated} updated, ${r.deleted} deleted, ${r.rejected} rejected in ${r.pages} page(s), ${(r.durationMs / 1000).toFixed(1)} s`;
  if (r.status === 'skipped') throw new Error(`${pipeline}.${source}: skipped (${r.error})`);
  if (r.status === 'failed')
    throw new Error(`${pipeline}.${source}: run ${r.runId} failed after ${counts}: ${r.error} (the watermark stays at the last committed page)`);
  console.log(`${pipeline}.${source}: run ${r.runId}${r.resumed ? ' (resumed)' : ''} done: ${counts}`);
}

const when = (d: Date | null | undefined) =>
  d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';
const position = (s: SourceStatus) =>
  s.kind === 'query' ? ((s.watermark as { watermark?: string } | null)?.watermark ?? '(start)') : `${s.items} file(s) seen`;

/** One line per source: what `tessera schedules` and `tessera status` show. */
export function sourceRows(list: SourceStatus[]) {
  return list.map((s) => {
    const r = s.lastRun;
    return {
      source: `${s.pipeline}.${s.name}`,
      table: s.table,
      schedule: s.paused ? `${s.scheduleText} (paused)` : s.scheduleText,
      last_run: r ? `${r.status} ${when(r.startedAt)}` : 'never',
      rows: r ? `+${r.inserted} ~${r.updated} -${r.deleted}${r.rejected ? ` !${r.rejected}` : ''}` : '',
      duration: r?.finishedAt ? `${((r.finishedAt.getTime() - r.startedAt.getTime()) / 1000).toFixed(1)} s` : '',
      next_run: when(s.nextRun),
      watermark: position(s),
      error: r?.error ?? r?.problems[0] ?? '',
    };
  });
}

/** `tessera schedules [pipeline]`: sources with schedule, last run (rows, duration, error), next run and watermark. */
export async function schedulesCommand(ctx: CliContext, args: string[], flags: { json?: boolean }) {
  const list = await sourceStatuses(await ctx.engine(), args[0]);
  if (flags.json) console.log(JSON.stringify(list, null, 2));
  else
    console.log(
      list.length ? formatTable(sourceRows(list)) : `no sources${args[0] ? ` in ${args[0]}` : ''} (declare them with p.source(...) and run tessera apply)`,
    );
}

/** `tessera pause|resume <pipeline> <source>` */
export async function pauseCommand(ctx: CliContext, command: 'pause' | 'resume', args: string[]) {
  const [pipeline, source] = args;
  if (!pipeline || !source) throw new Error(`usage: tessera ${command} <pipeline> <source>`);
  const engine = await ctx.engine();
  const s = command === 'pause' ? await pauseSource(engine, pipeline, source) : await resumeSource(engine, pipeline, source);
  console.log(
    `${pipeline}.${source}: ${command === 'pause' ? 'paused (its watermark stays; resume to go on)' : `resumed, ${s.schedule ? 'on its schedule' : 'on demand (no schedule)'}`}`,
  );
}
