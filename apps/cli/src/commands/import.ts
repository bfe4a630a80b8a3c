import { z } from 'zod';
import { createMediaContext } from '@tessera/connectors';
import { importFile } from '@tessera/runtime';
import type { CliContext } from '../context';

const USAGE = 'usage: tessera import <pipeline> <table> <file> [--format parquet|arrow|jsonl|csv] [--batch-size N] [--request-id ID]';

const Flags = z.object({
  format: z.enum(['parquet', 'arrow', 'jsonl', 'csv']).optional(),
  'batch-size': z.coerce.number().int().min(1).max(100_000).optional(),
  'request-id': z.string().min(1).max(150).optional(),
});

/**
 * `tessera import <pipeline> <table> <file>`: a Parquet, Arrow IPC, JSONL or CSV file (local, or
 * s3:// gs:// az:// https://) into a table, streamed in batches, one version each.
 */
export async function importCommand(ctx: CliContext, args: string[], flags: Record<string, unknown>) {
  const [pipeline, table, file] = args;
  if (!pipeline || !table || !file) throw new Error(USAGE);
  const parsed = Flags.safeParse({ format: flags.format, 'batch-size': flags['batch-size'], 'request-id': flags['request-id'] });
  if (!parsed.success) throw new Error(`${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}\n${USAGE}`);
  const f = parsed.data;
  const engine = await ctx.engine();
  const media = createMediaContext({ cacheDir: ctx.config.cacheDir });
  const r = await importFile(engine, pipeline, table, file, {
    ...(f.format ? { format: f.format } : {}),
    ...(f['batch-size'] ? { batchSize: f['batch-size'] } : {}),
    ...(f['request-id'] ? { requestId: f['request-id'] } : {}),
    media,
    onBatch: (p) => process.stderr.write(`\r${pipeline}.${table}: ${p.rows} row(s), ${p.batches} batch(es)`),
  });
  if (r.batches) process.stderr.write('\n');
  const versions = r.versions.length ? ` (v${r.versions[0]}${r.versions.length > 1 ? `-v${r.versions[r.versions.length - 1]}` : ''})` : '';
  const again = r.alreadyApplied ? `; ${r.alreadyApplied} batch(es) already applied by an earlier run with this request id` : '';
  const ignored = r.ignoredColumns.length ? `; file columns not in the table, not imported: ${r.ignoredColumns.join(', ')}` : '';
  console.log(`${pipeline}.${table}: imported ${r.rows} row(s) in ${r.batches} batch(es)${versions}${again}${ignored}`);
}
