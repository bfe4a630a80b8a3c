import { definePipeline, defineUdf, iteratorCall, t, type IteratorDef } from '@tessera/core';
import { postgres } from '@tessera/connectors';

/**
 * Large rows (bench:wide-rows): documents of about a megabyte each, first stored with no computed
 * work (`base`), then given a batched column, a view and a Postgres export of their text (the
 * default), so one backfill reads every row in batches of up to TESSERA_BATCH_SIZE rows.
 */
const PG_URL = process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const measure = defineUdf({
  name: 'wide-bench.measure',
  version: '1',
  params: [t.string()],
  returns: t.int(),
  batch: { maxSize: 1000, fn: async (rows) => rows.map(([text]) => text.length) },
});

const endOutputs = { part: t.string() };
/** Yields each text's first and last 100 characters. */
const ends: IteratorDef<Record<string, never>, typeof endOutputs> = {
  name: 'wide-bench.ends',
  version: '1',
  accepts: ['string'],
  queue: 'cpu',
  rowsPerJob: 1000,
  validate() {},
  outputs: () => endOutputs,
  async *run(input) {
    yield { part: input.slice(0, 100) };
    yield { part: input.slice(-100) };
  },
};

const docsOf = (p: Parameters<Parameters<typeof definePipeline>[1]>[0]) => p.table('docs', { id: t.int().primaryKey(), body: t.string() });

/** The table alone: rows are stored, nothing is computed. */
export const base = definePipeline('wide-bench', (p) => void docsOf(p));

export default definePipeline('wide-bench', (p) => {
  const docs = docsOf(p).compute('chars', (d) => measure(d.body));
  p.view('ends', docs, iteratorCall(ends, docs.body, {}));
  const schema = process.env.TESSERA_BENCH_EXPORT_SCHEMA ?? 'wide_bench';
  p.export(docs, postgres({ url: PG_URL, schema, table: 'wide_docs', create: true }), { columns: ['body', 'chars'] });
});
