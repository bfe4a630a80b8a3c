import { randomBytes } from 'node:crypto';
import type { CatalogTable } from '../src';
import { Store } from '../src';
import { DATABASE_URL, closeStore, plan } from './store-kit';

/** An export reads the record a chunk at a time, each chunk bounded by bytes of text as well as by rows. */
let store: Store;
let docs: CatalogTable;
beforeEach(async () => {
  // a budget of 25 kB: chunks of three bodies of 10 kB
  store = await Store.open({ url: DATABASE_URL, schema: `store_${randomBytes(4).toString('hex')}`, poolSize: 4, chunkBytes: 25_000 });
  await store.apply(plan);
  docs = await store.table('lib', 'docs');
});
afterEach(() => closeStore(store));

const chunks = async (columns: string[], scope = {}) => {
  const out: number[][] = [];
  for await (const chunk of store.exports.rows(docs, columns, [], scope)) out.push(chunk.map((r) => Number(r.id)));
  return out;
};

test('rows of large text are shipped in chunks within the byte budget, every row once, in key order', async () => {
  const { version } = await store.insert(
    'lib',
    'docs',
    Array.from({ length: 8 }, (_, i) => ({ id: i, body: `${i}`.repeat(10_000), tag: null })),
  );
  const expected = [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7],
  ];
  expect(await chunks(['id', 'body'])).toEqual(expected);
  expect(await chunks(['id', 'body'], { writtenBy: version })).toEqual(expected);
  // a row larger than the budget (an update keeps its rowid) is a chunk of its own; the keys alone are one chunk
  await store.update('lib', 'docs', [{ id: 3, body: 'x'.repeat(60_000) }]);
  expect(await chunks(['id', 'body'])).toEqual([[0, 1, 2], [3], [4, 5, 6], [7]]);
  expect(await chunks(['id'])).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
});
