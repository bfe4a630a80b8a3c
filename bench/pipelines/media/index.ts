import { definePipeline, t } from '@tessera/core';
import { documentSplitter, frameIterator } from '@tessera/iterators';

/** What bench:iterators runs through a real worker process to measure its memory: frames at 1 fps, and PDF chunks. */
export default definePipeline('bench-media', (p) => {
  const videos = p.table('videos', { id: t.string().primaryKey(), video: t.video() });
  p.view('frames', videos, frameIterator(videos.video, { fps: 1 }));
  const docs = p.table('docs', { id: t.string().primaryKey(), doc: t.document() });
  p.view('chunks', docs, documentSplitter(docs.doc, { separators: ['page', 'token_limit'], limit: 256, metadata: ['page'] }));
});
