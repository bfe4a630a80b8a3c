import { readFile } from 'node:fs/promises';
import { definePipeline, defineUdf, t } from '@tessera/core';
import { postgres } from '@tessera/connectors';
import { documentSplitter } from '@tessera/iterators';
import { z } from 'zod';
import { PG_URL } from '../../support/services';

/**
 * What a hostile producer aims at (test/security): a document column read by a UDF and split
 * into a view of chunks, exported to "the customer's" Postgres. Whatever a worker reads here ends
 * up in the customer's table, so the media policy is all that stands between a producer and the
 * worker's files and network.
 */
const customerUrl = process.env.TESSERA_TEST_CUSTOMER_URL ?? PG_URL;
const customerSchema = process.env.TESSERA_TEST_CUSTOMER_SCHEMA ?? 'customer';

/** The document's text, as it is (NUL bytes included: storing them is refused, per cell). */
export const rawText = defineUdf({
  name: 'raw_text',
  version: '1',
  params: [t.document()],
  returns: t.string(),
  async fn([doc], ctx) {
    return (await readFile(await ctx.media.localPath(doc))).toString('utf8');
  },
});

export default definePipeline('hostile', (p) => {
  const docs = p
    .table('docs', {
      id: t.string().primaryKey(),
      doc: t.document().nullable(),
      note: t.string().nullable(),
      meta: t.json(z.object({ tag: z.string() }).passthrough()).nullable(),
      n: t.int().nullable(),
      at: t.timestamp().nullable(),
    })
    .compute('text', (d) => rawText(d.doc));
  const chunks = p.view('chunks', docs, documentSplitter(docs.doc, { separators: ['paragraph'] }));
  p.export(chunks, postgres({ url: customerUrl, schema: customerSchema, table: 'chunks', create: true }), { columns: ['text'] });
  p.export(docs, postgres({ url: customerUrl, schema: customerSchema, table: 'docs', create: true }), { columns: ['text', 'note'] });
});
