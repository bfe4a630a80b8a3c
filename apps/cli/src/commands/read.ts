import { failedJobs } from '@tessera/runtime';
import type { CliContext } from '../context';
import { sourceStatuses } from '@tessera/runtime';
import { formatErrors, formatExportState, formatTable, formatUsage, progressBar, terminalSafeJson } from '../format';
import { sourceRows } from './sources';

/** `tessera select <pipeline> <table> [--limit N] [--version N] [--errors] [--json]` */
export async function selectCommand(
  ctx: CliContext,
  args: string[],
  flags: { limit?: string; version?: string; errors?: boolean; json?: boolean; columns?: string },
) {
  const [pipeline, table] = args;
  if (!pipeline || !table) throw new Error('usage: tessera select <pipeline> <table> [--limit N] [--version N] [--columns a,b] [--errors] [--json]');
  const engine = await ctx.engine();
  const rows = await engine.store.select(pipeline, table, {
    limit: flags.limit ? Number(flags.limit) : 20,
    ...(flags.version ? { asOf: Number(flags.version) } : {}),
    ...(flags.columns ? { columns: flags.columns.split(',') } : {}),
    withErrors: !!flags.errors,
  });
  console.log(flags.json ? terminalSafeJson(rows) : formatTable(rows));
}

/**
 * `tessera status <pipeline> [--watch]`: cells done, pending and failed per table and column; for
 * model columns, their usage (calls, tokens, 429s, waits for the rate limiter, cache hits).
 */
export async function statusCommand(ctx: CliContext, args: string[], flags: { watch?: boolean }) {
  const [pipeline] = args;
  if (!pipeline) throw new Error('usage: tessera status <pipeline> [--watch]');
  const engine = await ctx.engine();
  const render = async () => {
    const lines: string[] = [];
    let pending = 0;
    const exports = await engine.store.exports.states(pipeline);
    for (const t of await engine.store.tables(pipeline)) {
      const s = await engine.store.status(pipeline, t.name);
      const usage = await engine.store.usage(pipeline, t.name);
      lines.push(`${pipeline}.${t.name} (${t.kind}, v${t.version}): ${s.rows} row(s)`);
      const modelColumns = new Set(t.stages.filter((st) => st.queue.startsWith('model:')).flatMap((st) => st.columns));
      for (const c of s.columns) {
        pending += c.pending;
        const total = c.done + c.pending + c.failed;
        const u = usage[c.column];
        const model = u || modelColumns.has(c.column) ? `  model: ${formatUsage(u)}` : '';
        const view = t.columns.find((col) => col.name === c.column)?.computed?.iterate ? `  (rows of view ${c.column})` : '';
        lines.push(`  ${c.column.padEnd(24)} ${progressBar(c.done, c.failed, total)}  done ${c.done}  pending ${c.pending}  failed ${c.failed}${model}${view}`);
      }
      for (const e of exports.filter((x) => x.table === t.name)) lines.push(`  export ${e.sink}: ${formatExportState(e, pipeline)}`);
    }
    // jobs that failed for good and left cells pending (the periodic reconcile retries them; a bug or bad UDF keeps failing)
    for (const f of await failedJobs(engine, pipeline)) {
      lines.push(`  failed jobs: ${pipeline}.${f.table} ${f.column}: ${f.jobs} job(s), last at ${new Date(f.lastFailedAt).toISOString()}: ${f.reason}`);
    }
    if (!lines.length) lines.push(`pipeline ${pipeline} has no tables: run tessera apply ${pipeline}`);
    const sources = await sourceStatuses(engine, pipeline);
    if (sources.length) lines.push('sources:', formatTable(sourceRows(sources)));
    return { text: lines.join('\n'), pending };
  };
  if (!flags.watch) {
    console.log((await render()).text);
    return;
  }
  for (;;) {
    const { text, pending } = await render();
    process.stdout.write(`\x1b[2J\x1b[H${text}\n`);
    if (pending === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * `tessera errors <pipeline> <table> [--column c] [--limit N] [--json]`: failed cells with their whole
 * messages (the cause of a failed file is at the end of its message), wrapped to the terminal's width
 * (or COLUMNS) and never cut; `--json` prints them as a JSON array.
 */
export async function errorsCommand(ctx: CliContext, args: string[], flags: { column?: string; limit?: string; json?: boolean }) {
  const [pipeline, table] = args;
  if (!pipeline || !table) throw new Error('usage: tessera errors <pipeline> <table> [--column c] [--limit N] [--json]');
  const limit = flags.limit ? Number(flags.limit) : 50;
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive whole number, got ${flags.limit}`);
  const engine = await ctx.engine();
  const errors = (await engine.store.errors(pipeline, table, { ...(flags.column ? { column: flags.column } : {}), limit })).slice(0, limit);
  if (flags.json) {
    console.log(terminalSafeJson(errors));
    return;
  }
  if (!errors.length) console.log(`${pipeline}.${table}: no failed cells${flags.column ? ` in column ${flags.column}` : ''}`);
  else {
    const more = errors.length === limit ? ` (the first ${limit}; --limit N for more)` : '';
    console.log(`${pipeline}.${table}: ${errors.length} failed cell(s)${more}\n\n${formatErrors(errors, terminalWidth())}`);
  }
  // jobs that failed for good (a bug, a bad UDF) leave their cells pending, not failed: shown apart
  const jobs = (await failedJobs(engine, pipeline)).filter((f) => f.table === table && (!flags.column || f.column.split(',').includes(flags.column)));
  if (jobs.length) {
    console.log(`\nfailed jobs (cells still pending):`);
    console.log(formatTable(jobs.map((f) => ({ column: f.column, jobs: f.jobs, at: new Date(f.lastFailedAt).toISOString(), reason: f.reason }))));
  }
}

/** The terminal's width, or COLUMNS when output is piped; undefined (no wrapping) otherwise. */
function terminalWidth(): number | undefined {
  if (process.stdout.isTTY && process.stdout.columns) return process.stdout.columns;
  const cols = Number(process.env.COLUMNS);
  return Number.isInteger(cols) && cols >= 20 ? cols : undefined;
}

/**
 * `tessera versions <pipeline> <table> [--version N]`: the history, with the write requests
 * (producer calls) each version holds; with --version, every request id of that version.
 */
export async function versionsCommand(ctx: CliContext, args: string[], flags: { version?: string } = {}) {
  const [pipeline, table] = args;
  if (!pipeline || !table) throw new Error('usage: tessera versions <pipeline> <table> [--version N]');
  const engine = await ctx.engine();
  if (flags.version) {
    const v = Number(flags.version);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--version must be a version number, not ${flags.version}`);
    const requests = await engine.store.requests(pipeline, table, v);
    console.log(
      requests.length
        ? formatTable(requests.map((r) => ({ request: r.id, op: r.op, rows: r.count })))
        : `${pipeline}.${table} v${v} holds no recorded requests`,
    );
    return;
  }
  const versions = await engine.store.versions(pipeline, table);
  const requests = (v: (typeof versions)[number]) =>
    v.requests ? `${v.requests}: ${v.requestIds.join(', ')}${v.requests > v.requestIds.length ? ', ...' : ''}` : '';
  console.log(
    formatTable(
      versions.map((v) => ({
        version: v.version,
        kind: v.kind,
        inserts: v.inserts,
        updates: v.updates,
        deletes: v.deletes,
        errors: v.errors,
        requests: requests(v),
        aborted: v.aborted ?? '',
        at: v.createdAt,
        detail: v.detail,
      })),
    ),
  );
}
