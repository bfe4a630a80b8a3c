import type { CliContext } from '../context';
import { readRows, type RowFormat } from '../read-rows';

export type WriteOp = 'insert' | 'update' | 'upsert' | 'delete';

interface WriteFlags {
  format?: string;
  'request-id'?: string;
  /** return once the version is computed and exported (Engine.waitVersion) */
  wait?: boolean;
  /** how long --wait waits, in seconds */
  timeout?: string;
}

/** `tessera insert|update|upsert|delete <pipeline> <table> [file|-] [--format json|jsonl|csv] [--request-id ID] [--wait [--timeout S]]` */
export async function writeCommand(op: WriteOp, ctx: CliContext, args: string[], flags: WriteFlags) {
  const [pipeline, table, source = '-'] = args;
  if (!pipeline || !table)
    throw new Error(`usage: tessera ${op} <pipeline> <table> [file|-] [--format json|jsonl|csv] [--request-id ID] [--wait [--timeout S]]`);
  if (flags.format && !['json', 'jsonl', 'csv'].includes(flags.format)) throw new Error(`--format must be json, jsonl or csv, not ${flags.format}`);
  const timeoutMs = waitTimeout(flags);
  const rows = await readRows(source, flags.format as RowFormat | undefined);
  const engine = await ctx.engineFor(pipeline);
  const opts = flags['request-id'] ? { requestId: flags['request-id'] } : {};
  const again = (d: boolean) => (d ? ' (request already applied)' : '');
  const started = Date.now();
  let version: number;
  if (op === 'upsert') {
    const r = await engine.upsert(pipeline, table, rows, opts);
    version = r.version;
    console.log(
      `${pipeline}.${table} v${r.version}: upserted ${r.count} row(s)${r.duplicate ? '' : ` (${r.inserted} inserted, ${r.updated} updated)`}${again(r.duplicate)}`,
    );
  } else {
    const r =
      op === 'insert'
        ? await engine.insert(pipeline, table, rows, opts)
        : op === 'update'
          ? await engine.update(pipeline, table, rows, opts)
          : await engine.delete(pipeline, table, rows, opts);
    version = r.version;
    console.log(
      `${pipeline}.${table} v${r.version}: ${op === 'insert' ? 'inserted' : op === 'update' ? 'updated' : 'deleted'} ${r.count} row(s)${again(r.duplicate)}`,
    );
  }
  if (timeoutMs === undefined) return;
  await engine.waitVersion(pipeline, table, version, { timeoutMs });
  console.log(`${pipeline}.${table} v${version}: computed and exported in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** --wait's limit in ms (undefined without --wait); a --timeout that is not a positive number is refused before anything is written. */
function waitTimeout(flags: WriteFlags): number | undefined {
  if (flags.timeout !== undefined && !flags.wait) throw new Error('--timeout goes with --wait');
  if (!flags.wait) return undefined;
  const seconds = flags.timeout === undefined ? 300 : Number(flags.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--timeout must be a positive number of seconds, not ${flags.timeout}`);
  return seconds * 1000;
}
