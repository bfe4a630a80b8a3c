import { z } from 'zod';
import { definePipeline, defineUdf, t } from '@tessera/core';
import { documentSplitter, frameIterator, audioSplitter, stringSplitter, tileIterator } from '@tessera/iterators';
import { postgres } from '@tessera/connectors';
import { upper, length } from '@tessera/functions';
import { countCall as count } from '../../support/call-counter';
import { PG_URL } from '../../support/services';

/**
 * Views end to end: documents split into chunks (with a computed column over each chunk and one
 * over an inherited base column), chunks split into sentences (a view of a view), videos into
 * frames, audio into segments. Chunks are exported to "the customer's" Postgres. UDF calls are
 * counted in Redis (TESSERA_TEST_COUNTER) so tests can check each cell was computed once.
 */

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
  params: [t.json(z.object({ time: z.number() }))], // the frame iterator's frameAttrs
  returns: t.float(),
  fn: ([attrs]) => attrs.time,
});

/**
 * The pipeline; `next` is its next revision as a test applies it: a computed column added to a
 * view (backfilled), a view added over a table with rows, and the frame rate changed.
 */
export function viewsPipeline(next = false, fps = 2) {
  const customerUrl = process.env.TESSERA_TEST_CUSTOMER_URL ?? PG_URL;
  const customerSchema = process.env.TESSERA_TEST_CUSTOMER_SCHEMA ?? 'customer';
  const frameDestination = process.env.TESSERA_TEST_FRAME_DESTINATION;
  return definePipeline('views', (p) => {
    const docs = p
      .table('docs', { id: t.string().primaryKey(), doc: t.document(), source: t.string().nullable() })
      .compute('source_loud', (d) => upper(d.source));
    const chunks = p
      .view('chunks', docs, documentSplitter(docs.doc, { separators: ['paragraph'], metadata: ['page'] }))
      .compute('loud', (c) => shout(c.text))
      .compute('tagged', (c) => tag(c.source, c.pos))
      // reads a computed column of the base: chunks are made after docs' stages of each batch
      .compute('tagged_loud', (c) => tag(c.source_loud, c.pos));
    if (next) {
      chunks.compute('chars', length(chunks.text));
      p.view('source_parts', docs, stringSplitter(docs.source));
    }
    p.view('sentences', chunks, stringSplitter(chunks.text));
    p.export(chunks, postgres({ url: customerUrl, schema: customerSchema, table: 'chunks', create: true }), { columns: ['text', 'source', 'loud', 'tagged'] });

    const videos = p.table('videos', { id: t.string().primaryKey(), video: t.video() });
    const frames = p.view('frames', videos, frameIterator(videos.video, { fps }), frameDestination ? { destination: frameDestination } : {});
    frames.compute('second', frameSecond(frames.frameAttrs));
    // a view of a view over media: each frame cut into 32 px tiles
    p.view('tiles', frames, tileIterator(frames.frame, { tileSize: 32 }));

    const clips = p.table('clips', { id: t.string().primaryKey(), audio: t.audio() });
    p.view('segments', clips, audioSplitter(clips.audio, { duration: 2 }));
  });
}

/** As loaded by workers: the environment is read at import. */
export default viewsPipeline(false, Number(process.env.TESSERA_TEST_VIEWS_FPS ?? 2));
