import { Redis } from 'ioredis';
import { definePipeline, defineUdf, t } from '@tessera/core';
import { documentSplitter, frameIterator, audioSplitter, stringSplitter } from '@tessera/iterators';
import { postgres } from '@tessera/connectors';
import { upper } from '@tessera/functions';

/**
 * Views end to end: documents split into chunks (with a computed column over each chunk and one
 * over an inherited base column), chunks split into sentences (a view of a view), videos into
 * frames, audio into segments. Chunks are exported to "the customer's" Postgres. UDF calls are
 * counted in Redis (TESSERA_TEST_COUNTER) so tests can check each cell was computed once.
 */
const counterKey = process.env.TESSERA_TEST_COUNTER;
const redis = counterKey ? new Redis(process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true }) : null;
const count = async (udf: string, n = 1) => {
  if (redis && n > 0) await redis.hincrby(counterKey!, udf, n);
};

export const tag = defineUdf({
  name: 'tag',
  version: '1',
  params: [t.string().nullable(), t.int()],
  returns: t.string(),
  async fn([source, pos]) {
    await count('tag');
    return `${source ?? 'unknown'}#${pos}`;
  },
});

export const shout = defineUdf({
  name: 'shout',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  batch: {
    maxSize: 100,
    async fn(rows) {
      await count('shout', rows.length);
      return rows.map(([s]) => `${s.toUpperCase()}!`);
    },
  },
});

export const frameSecond = defineUdf({
  name: 'frame_second',
  version: '1',
  params: [t.json()],
  returns: t.float(),
  fn: ([attrs]) => (attrs as { time: number }).time,
});

const customerUrl = process.env.TESSERA_TEST_CUSTOMER_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const customerSchema = process.env.TESSERA_TEST_CUSTOMER_SCHEMA ?? 'customer';
const frameDestination = process.env.TESSERA_TEST_FRAME_DESTINATION;

export default definePipeline('views', (p) => {
  const docs = p.table('docs', { id: t.string().primaryKey(), doc: t.document(), source: t.string().nullable() });
  docs.compute('source_loud', upper(docs.source));
  const chunks = p.view('chunks', docs, documentSplitter(docs.doc, { separators: ['paragraph'], metadata: ['page'] }));
  chunks.compute('loud', shout(chunks.text));
  chunks.compute('tagged', tag(chunks.source, chunks.pos));
  p.view('sentences', chunks, stringSplitter(chunks.text));
  p.export(chunks, postgres({ url: customerUrl, schema: customerSchema, table: 'chunks', create: true }), { columns: ['text', 'source', 'loud', 'tagged'] });

  const videos = p.table('videos', { id: t.string().primaryKey(), video: t.video() });
  const frames = p.view('frames', videos, frameIterator(videos.video, { fps: 2 }), frameDestination ? { destination: frameDestination } : {});
  frames.compute('second', frameSecond(frames.frameAttrs));

  const clips = p.table('clips', { id: t.string().primaryKey(), audio: t.audio() });
  p.view('segments', clips, audioSplitter(clips.audio, { duration: 2 }));
});
