import { randomBytes } from 'node:crypto';
import { definePipeline, defineUdf, iteratorCall, planPipeline, t, type IteratorDef } from '@tessera/core';
import { Store } from '../src';

/** The store's tests: real Postgres, a schema of their own per test (dropped after). */
export const DATABASE_URL = process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function openStore(): Promise<Store> {
  return Store.open({ url: DATABASE_URL, schema: `store_${randomBytes(4).toString('hex')}`, poolSize: 4 });
}

export async function closeStore(store: Store | undefined): Promise<void> {
  if (!store) return;
  await store.dropAll();
  await store.close();
}

// the store never runs these: workers do; here only their definitions make the catalog
const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
const words: IteratorDef<Record<string, never>, { word: ReturnType<typeof t.string> }> = {
  name: 'words',
  version: '1',
  accepts: ['string'],
  queue: 'cpu',
  validate: () => undefined,
  outputs: () => ({ word: t.string() }),
  async *run(input) {
    for (const word of String(input).split(' ')) yield { word };
  },
};

/** docs (id, body, tag, computed loud = upper(body)) and a view `words` over docs iterating body. */
export const plan = planPipeline(
  definePipeline('lib', (p) => {
    const docs = p.table('docs', { id: t.int().primaryKey(), body: t.string(), tag: t.string().nullable() });
    docs.compute('loud', upper(docs.body));
    p.view('words', docs, iteratorCall(words, docs.body, {}));
  }),
);
