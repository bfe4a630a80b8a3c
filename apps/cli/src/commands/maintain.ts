import { reconcile } from '@tessera/runtime';
import type { CliContext } from '../context';

/** `tessera revert <pipeline> <table>`: undo the latest data version. */
export async function revertCommand(ctx: CliContext, args: string[]) {
  const [pipeline, table] = args;
  if (!pipeline || !table) throw new Error('usage: tessera revert <pipeline> <table>');
  const v = await (await ctx.engine()).revert(pipeline, table);
  console.log(`${pipeline}.${table}: reverted version ${v}`);
}

/**
 * `tessera recompute <pipeline> <table> [--errors-only] [--columns a,b] [--fresh]`: model calls
 * already answered come from the response cache (no call) unless `--fresh` asks the model again.
 */
export async function recomputeCommand(ctx: CliContext, args: string[], flags: { 'errors-only'?: boolean; columns?: string; fresh?: boolean }) {
  const [pipeline, table] = args;
  if (!pipeline || !table) throw new Error('usage: tessera recompute <pipeline> <table> [--errors-only] [--columns a,b] [--fresh]');
  const r = await (await ctx.engine()).recompute(pipeline, table, {
    errorsOnly: !!flags['errors-only'],
    ...(flags.columns ? { columns: flags.columns.split(',') } : {}),
    ...(flags.fresh ? { fresh: true } : {}),
  });
  const what = flags['errors-only'] ? `${r.cells} failed cell(s) enqueued again` : 'recompute enqueued';
  console.log(`${pipeline}.${table} v${r.version}: ${what}${flags.fresh ? ' (fresh model calls, not from the cache)' : ''}`);
}

/**
 * `tessera reconcile [pipeline...] [--exports]`: re-enqueue pending cells that no live job covers;
 * with --exports, also re-ship every table that has exports (a finished version whose export job
 * Redis lost leaves no pending cell to find).
 */
export async function reconcileCommand(ctx: CliContext, args: string[], flags: { exports?: boolean } = {}) {
  const engine = await ctx.engine();
  const pipelines = args.length ? args : await engine.store.pipelines();
  for (const p of pipelines) {
    for (const r of await reconcile(engine, p, { exports: !!flags.exports })) {
      console.log(
        `${r.pipeline}.${r.table}: ${r.pendingBatches} batch(es) with pending cells, ${r.covered} covered by live jobs, ${r.enqueued} enqueued${flags.exports ? ', exports re-shipped' : ''}`,
      );
    }
  }
}

/** `tessera export --full <pipeline> <table> [--sink name ...]`: re-ship every live row to the table's exports (or the named ones). */
export async function exportCommand(ctx: CliContext, args: string[], flags: { full?: boolean; sink?: string[] }) {
  const [pipeline, table] = args;
  if (!pipeline || !table || !flags.full)
    throw new Error('usage: tessera export --full <pipeline> <table> [--sink name ...] (incremental exports run by themselves after each version)');
  const sinks = flags.sink ?? [];
  if (sinks.length) {
    const known = (await ctx.pipeline(pipeline)).exports.filter((e) => e.source === table).map((e) => e.sink.name);
    const unknown = sinks.filter((s) => !known.includes(s));
    if (unknown.length) throw new Error(`${pipeline}.${table} has no export to ${unknown.join(', ')} (its exports: ${known.join(', ') || 'none'})`);
  }
  await (await ctx.engine()).exportFull(pipeline, table, { sinks });
  console.log(`${pipeline}.${table}: full export to ${sinks.length ? sinks.join(', ') : 'every export'} enqueued`);
}
