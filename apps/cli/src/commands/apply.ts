import type { CliContext } from '../context';

/** `tessera apply <pipeline> [--recompute]`: create or migrate the catalog; backfills start by themselves. */
export async function applyCommand(ctx: CliContext, args: string[], flags: { recompute?: boolean }) {
  const [ref] = args;
  if (!ref) throw new Error('usage: tessera apply <pipeline|path> [--recompute]');
  const def = await ctx.pipeline(ref);
  const engine = await ctx.engine();
  const changes = await engine.apply(def, { recompute: !!flags.recompute });
  if (!changes.length) console.log(`${def.name}: catalog already matches the definition`);
  for (const c of changes) {
    const what = c.kind === 'create_table' ? 'created' : c.kind.replace('_', ' ');
    console.log(
      `${def.name}.${c.table} v${c.version}: ${what}${c.columns.length ? ` ${c.columns.join(', ')}` : ''}${c.backfill ? ' (backfill enqueued)' : ''}`,
    );
  }
}
