import { definePipeline, defineUdf, iteratorCall, t, type IteratorDef } from '@tessera/core';
import { postgres } from '@tessera/connectors';
import { PG_URL } from '../../support/services';

/**
 * Rows that kill the worker process computing them (test/e2e/worker-deaths): as an out-of-memory
 * kill or a native crash in a media library would, at once and with nothing cleaned up. A text
 * holding "poison" kills the batched UDF of its column (with every other row of its batch in
 * flight), one holding "venom" kills the view's iterator, one holding "toxic" a plain synchronous
 * UDF that the writer of an insert computes itself (inline compute), so the ingest job dies. The
 * call for one holding "stuck" never answers, nor does the iterator after its first row. The table and its view are exported to "the customer's" Postgres (TESSERA_TEST_CUSTOMER_SCHEMA).
 */
function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: the process is gone');
}

export const shoutOrDie = defineUdf({
  name: 'shout_or_die',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  batch: {
    maxSize: 20,
    async fn(rows) {
      if (rows.some(([s]) => s.includes('poison'))) die();
      return rows.map(([s]) => s.toUpperCase());
    },
  },
});

export const size = defineUdf({
  name: 'size',
  version: '1',
  params: [t.string()],
  returns: t.int(),
  fn: ([s]) => s.length,
});

export const tagOrDie = defineUdf({
  name: 'tag_or_die',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  fn: ([s]) => {
    if (s.includes('toxic')) die();
    return `#${s.length}`;
  },
});

/** Never answers for a text holding "stuck" (a request to a host that accepts and never replies). */
export const echoOrHang = defineUdf({
  name: 'echo_or_hang',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  fn: ([s]) => (s.includes('stuck') ? new Promise<string>(() => {}) : Promise.resolve(s)),
});

const wordOutputs = { word: t.string() };
const wordsOrDie: IteratorDef<Record<string, never>, typeof wordOutputs> = {
  name: 'words_or_die',
  version: '1',
  accepts: ['string'],
  queue: 'cpu',
  rowsPerJob: 10,
  validate() {},
  outputs: () => wordOutputs,
  async *run(input) {
    if (input.includes('venom')) die();
    for (const word of input.split(' ')) {
      yield { word };
      // goes quiet after its first row, never ending
      if (input.includes('stuck')) await new Promise(() => {});
    }
  },
};

export default definePipeline('poison', (p) => {
  const items = p
    .table('items', { id: t.string().primaryKey(), text: t.string() })
    .compute('loud', (i) => shoutOrDie(i.text))
    .compute('size', (i) => size(i.loud))
    .compute('tag', (i) => tagOrDie(i.text))
    .compute('echo', (i) => echoOrHang(i.text));
  const words = p.view('words', items, iteratorCall(wordsOrDie, items.text, {}));
  const customer = { url: PG_URL, schema: process.env.TESSERA_TEST_CUSTOMER_SCHEMA ?? 'customer', create: true };
  p.export(items, postgres({ ...customer, table: 'items' }), { columns: ['text', 'loud', 'size', 'tag', 'echo'] });
  p.export(words, postgres({ ...customer, table: 'words' }), { columns: ['word'] });
});
