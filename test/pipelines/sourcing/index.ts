import { readFile } from 'node:fs/promises';
import { definePipeline, defineUdf, t, type ScheduleInput } from '@tessera/core';
import { folder, objects, sqlQuery } from '@tessera/connectors';

/** Sources of every kind over two tables, switched on by the environment (SRC_*), as the tests set it. */
const shout = defineUdf({ name: 'shout', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });

/** The file's text, read through the worker's media access (remote objects come through its cache). */
const content = defineUdf({
  name: 'content',
  version: '1',
  params: [t.document()],
  returns: t.string(),
  async fn([doc], ctx) {
    return readFile(await ctx.media.localPath(doc), 'utf8');
  },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** a query row's timestamp as the driver returns it (pg and mysql2 give a Date), null when there is none */
const timestampOf = (v: unknown) => (v instanceof Date || typeof v === 'string' ? v : null);

export function sourcing(env: Record<string, string | undefined> = process.env) {
  const schedule = (): ScheduleInput | undefined =>
    env.SRC_CRON ? { cron: env.SRC_CRON } : env.SRC_EVERY ? { every: /^\d+$/.test(env.SRC_EVERY) ? Number(env.SRC_EVERY) : env.SRC_EVERY } : undefined;
  const pageSize = Number(env.SRC_PAGE ?? 2);
  return definePipeline('sourcing', (p) => {
    const files = p.table('files', { id: t.string().primaryKey(), doc: t.document(), size: t.int(), origin: t.string() });
    files.compute('loud', shout(files.id));
    files.compute('text', content(files.doc));
    const records = p.table('records', { id: t.string().primaryKey(), title: t.string(), updated_at: t.timestamp().nullable(), origin: t.string() });
    records.compute('loud', shout(records.title));
    const file = (origin: string) => (f: { key: string; url: string; size: number }) => ({ id: `${origin}/${f.key}`, doc: f.url, size: f.size, origin });
    const opts = { schedule: schedule(), pageSize, deletes: true };
    if (env.SRC_DIR) p.source('inbox', files, folder(env.SRC_DIR, { glob: '**/*.txt' }), { ...opts, map: file('dir') });
    if (env.SRC_S3) p.source('s3_in', files, objects(env.SRC_S3), { ...opts, map: file('s3') });
    if (env.SRC_GCS) p.source('gcs_in', files, objects(env.SRC_GCS), { ...opts, map: file('gcs') });
    if (env.SRC_AZ) p.source('az_in', files, objects(env.SRC_AZ), { ...opts, map: file('az') });
    if (env.SRC_ROWS) p.source('dumps', records, objects(env.SRC_ROWS, { glob: '*.jsonl', rows: true }), { pageSize });
    const row = (origin: string) => async (r: Record<string, unknown>) => {
      if (env.SRC_SLOW_MS) await sleep(Number(env.SRC_SLOW_MS));
      return { id: `${origin}:${r.id}`, title: String(r.title), updated_at: timestampOf(r.updated_at), origin };
    };
    if (env.SRC_PG_URL)
      p.source(
        'pg_rows',
        records,
        sqlQuery({
          url: env.SRC_PG_URL,
          query: `SELECT id, title, updated_at, deleted FROM ${env.SRC_PG_TABLE ?? 'src_items'}`,
          watermark: 'updated_at',
          key: 'id',
          deleted: 'deleted',
        }),
        { schedule: schedule(), pageSize, map: row('pg') },
      );
    if (env.SRC_MY_URL)
      p.source(
        'my_rows',
        records,
        sqlQuery({ url: env.SRC_MY_URL, query: `SELECT id, title, updated_at FROM ${env.SRC_MY_TABLE ?? 'src_items'}`, watermark: 'updated_at', key: 'id' }),
        { schedule: schedule(), pageSize, map: row('my') },
      );
  });
}

export default sourcing();
