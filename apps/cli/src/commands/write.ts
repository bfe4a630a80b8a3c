import type { CliContext } from '../context';
import { readRows, type RowFormat } from '../read-rows';

export type WriteOp = 'insert' | 'update' | 'upsert' | 'delete';

/** `tessera insert|update|upsert|delete <pipeline> <table> [file|-] [--format json|jsonl|csv]` */
export async function writeCommand(op: WriteOp, ctx: CliContext, args: string[], flags: { format?: string; 'request-id'?: string }) {
  const [pipeline, table, source = '-'] = args;
  if (!pipeline || !table) throw new Error(`usage: tessera ${op} <pipeline> <table> [file|-] [--format json|jsonl|csv]`);
  if (flags.format && !['json', 'jsonl', 'csv'].includes(flags.format)) throw new Error(`--format must be json, jsonl or csv, not ${flags.format}`);
  const rows = await readRows(source, flags.format as RowFormat | undefined);
  const engine = await ctx.engineFor(pipeline);
  const opts = flags['request-id'] ? { requestId: flags['request-id'] } : {};
  const again = (d: boolean) => (d ? ' (request already applied)' : '');
  if (op === 'upsert') {
    const r = await engine.upsert(pipeline, table, rows, opts);
    console.log(
      `${pipeline}.${table} v${r.version}: upserted ${r.count} row(s)${r.duplicate ? '' : ` (${r.inserted} inserted, ${r.updated} updated)`}${again(r.duplicate)}`,
    );
    return;
  }
  const r =
    op === 'insert'
      ? await engine.insert(pipeline, table, rows, opts)
      : op === 'update'
        ? await engine.update(pipeline, table, rows, opts)
        : await engine.delete(pipeline, table, rows, opts);
  console.log(
    `${pipeline}.${table} v${r.version}: ${op === 'insert' ? 'inserted' : op === 'update' ? 'updated' : 'deleted'} ${r.count} row(s)${again(r.duplicate)}`,
  );
}
