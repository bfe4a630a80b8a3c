import { definePipeline, defineUdf, iteratorCall, t, type IteratorDef } from '@tessera/core';
import { postgres } from '@tessera/connectors';
import { PG_URL } from '../../support/services';
import { seen } from './seen';

/**
 * Rows of large text (test/e2e/wide-rows): a batched UDF and an iterator that note, in this
 * process, how much text each call was handed at once, so the test can check that a batch of large
 * rows is read and computed a part at a time (TESSERA_BATCH_BYTES) rather than all together. The
 * table goes to "the customer's" Postgres (TESSERA_TEST_CUSTOMER_SCHEMA) with its text.
 */
export const measure = defineUdf({
  name: 'measure',
  version: '1',
  params: [t.string()],
  returns: t.int(),
  batch: {
    maxSize: 1000,
    async fn(rows) {
      const s = seen();
      s.callChars.push(rows.reduce((n, [text]) => n + text.length, 0));
      s.rows += rows.length;
      return rows.map(([text]) => text.length);
    },
  },
});

const headOutputs = { head: t.string() };
/** Yields each text's first and last 10 characters. */
const ends: IteratorDef<Record<string, never>, typeof headOutputs> = {
  name: 'ends',
  version: '1',
  accepts: ['string'],
  queue: 'cpu',
  rowsPerJob: 1000,
  validate() {},
  outputs: () => headOutputs,
  async *run(input) {
    seen().iterated++;
    yield { head: input.slice(0, 10) };
    yield { head: input.slice(-10) };
  },
};

export default definePipeline('wide', (p) => {
  const docs = p.table('docs', { id: t.int().primaryKey(), body: t.string() }).compute('chars', (d) => measure(d.body));
  p.view('ends', docs, iteratorCall(ends, docs.body, {}));
  const schema = process.env.TESSERA_TEST_CUSTOMER_SCHEMA ?? 'customer';
  p.export(docs, postgres({ url: PG_URL, schema, table: 'wide_docs', create: true }), { columns: ['body', 'chars'] });
});
