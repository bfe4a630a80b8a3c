import { definePipeline, t } from '@tessera/core';
import { documentSplitter } from '@tessera/iterators';

/** Documents split into chunks, for tests of what a user sees when files fail (`tessera errors`). */
export default definePipeline('doc-errors', (p) => {
  const docs = p.table('docs', { id: t.string().primaryKey(), doc: t.document() });
  p.view('chunks', docs, documentSplitter(docs.doc, { separators: ['paragraph'] }));
});
