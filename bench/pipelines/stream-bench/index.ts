import { Redis } from 'ioredis';
import { definePipeline, defineUdf, t, type ExportSink } from '@tessera/core';
import { postgres } from '@tessera/connectors';

/**
 * A streaming pipeline: events with two cheap computed columns, exported to "the customer's"
 * Postgres (schema TESSERA_STREAM_EXPORT_SCHEMA). With TESSERA_STREAM_COUNTER set, every UDF call
 * and every exported row is counted in that Redis hash (`udf:<name>`, `exported:<id>`), so tests
 * can prove each row was computed once and exported once, across worker processes.
 */
const counterKey = process.env.TESSERA_STREAM_COUNTER;
const redis = counterKey ? new Redis(process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true }) : null;
/** per-call delay, so tests can kill a worker while it holds work */
const delayMs = Number(process.env.TESSERA_STREAM_UDF_DELAY_MS ?? 0);

export const shout = defineUdf({
  name: 'stream.shout',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  batch: {
    maxSize: 1000,
    async fn(rows) {
      if (redis) await redis.hincrby(counterKey!, 'udf:shout', rows.length);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return rows.map(([s]) => `${s.toUpperCase()}!`);
    },
  },
});

export const size = defineUdf({
  name: 'stream.size',
  version: '1',
  params: [t.string()],
  returns: t.int(),
  batch: {
    maxSize: 1000,
    async fn(rows) {
      if (redis) await redis.hincrby(counterKey!, 'udf:size', rows.length);
      return rows.map(([s]) => s.length);
    },
  },
});

/** The sink, counting what it ships per key when asked to. */
function counted(sink: ExportSink): ExportSink {
  if (!redis) return sink;
  return {
    name: sink.name,
    prepare: (schema) => sink.prepare(schema),
    async upsert(schema, rows, batch) {
      await sink.upsert(schema, rows, batch);
      const m = redis.multi();
      for (const r of rows) m.hincrby(counterKey!, `exported:${String(r.id)}`, 1);
      await m.exec();
    },
    delete: (schema, keys, batch) => sink.delete(schema, keys, batch),
    close: () => sink.close(),
  };
}

const exportUrl = process.env.TESSERA_STREAM_EXPORT_URL ?? process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const exportSchema = process.env.TESSERA_STREAM_EXPORT_SCHEMA ?? 'stream_export';

export default definePipeline('stream', (p) => {
  const events = p
    .table('events', { id: t.string().primaryKey(), body: t.string(), n: t.int().nullable() })
    .compute('loud', (e) => shout(e.body))
    .compute('size', (e) => size(e.body));
  p.export(events, counted(postgres({ url: exportUrl, schema: exportSchema, table: 'events', create: true })), { columns: ['body', 'n', 'loud', 'size'] });
});
